/**
 * The endpoints controller, in two halves as Multi-cluster Services splits it:
 *
 * - `McsExporter`, one per exporting cluster, in that cluster's namespace: the kubelet's
 *   readiness probes (period, timeout and thresholds from the producer's manifest), the
 *   kubelet's relist of its containers (a pod whose process exited is not ready from the next
 *   relist, without waiting for probes to fail) and the EndpointSlice controller (a terminating
 *   pod leaves the ready set at once). It reports the
 *   cluster's endpoints to the importer on every change and every `heartbeatMs`; a report is
 *   also the cluster's lease renewal (KEP-1645's "Endpoint TTL").
 * - `McsImporter`, in cluster-1: applies each report after the propagation delay, keeps a lease
 *   per exporting cluster (a cluster that stops reporting keeps its last endpoints until its
 *   lease expires, then loses them all), and turns the union of ready endpoints into the
 *   ClusterSetIP's nftables rules, as kube-proxy does from EndpointSlices.
 *
 * The two talk over the control socket (a file, so across network namespaces): the report path
 * is the control plane, never cut by a link cut; `stopReporting` is how a lost cluster is made.
 */
import http from 'node:http';
import { control } from './control-channel.js';
import { nftApply } from './network.js';
import { clusterSetIpRuleset } from './plan.js';
import type { McsSettings, ProbeSettings } from './plan.js';
import { isAlive } from './system.js';

export interface PodEndpoint {
  name: string;
  host: string;
  port: number;
}

export interface ReportedEndpoint extends PodEndpoint {
  ready: boolean;
  terminating: boolean;
  /** How many times this pod has been (re)started; lets a reader tell a new pod's report from an old one. */
  generation: number;
}

export interface ClusterReport {
  cluster: string;
  endpoints: ReportedEndpoint[];
}

export interface McsExporterOptions {
  cluster: string;
  pods: PodEndpoint[];
  probe: ProbeSettings;
  importerSocket: string;
  /** How often the cluster reports (renews its lease) without a change. **Default:** 1000. */
  heartbeatMs?: number;
  /** Readiness probe path. **Default:** `/readyz` (the manifest's). */
  probePath?: string;
  /**
   * How often the kubelet relists its containers (its PLEG): a pod whose process has exited is
   * not ready from the next relist on. **Default:** 1000, the kubelet's relist period.
   */
  relistMs?: number;
}

interface PodState extends ReportedEndpoint {
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  /** The pod's process (its container), once the runtime has told us; null when none runs. */
  pid: number | null;
}

const STARTING_PROBE_MS = 100;
const RELIST_MS = 1000;

export class McsExporter {
  private readonly pods: PodState[];
  private timer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private relist: NodeJS.Timeout | null = null;
  private closed = false;
  reporting = true;
  reportsSent = 0;
  reportsFailed = 0;

  constructor(private readonly options: McsExporterOptions) {
    this.pods = options.pods.map((pod) => ({
      ...pod,
      ready: false,
      terminating: false,
      consecutiveFailures: 0,
      consecutiveSuccesses: 0,
      generation: 0,
      pid: null,
    }));
  }

  /** Every pod is new at the start: each is probed quickly until ready (see `started`). */
  start(): void {
    for (const pod of this.pods) this.probeUntilReady(pod);
    this.schedule(this.options.probe.periodMs);
    this.heartbeat = setInterval(() => void this.send(), this.options.heartbeatMs ?? 1000);
    this.heartbeat.unref();
    this.relist = setInterval(() => this.relistContainers(), this.options.relistMs ?? RELIST_MS);
    this.relist.unref();
  }

  status() {
    return {
      cluster: this.options.cluster,
      reporting: this.reporting,
      reportsSent: this.reportsSent,
      reportsFailed: this.reportsFailed,
      endpoints: this.report().endpoints,
    };
  }

  /** The pod is being deleted: not ready from now on, reported at once (no probe needed). */
  terminating(name: string): void {
    const pod = this.pod(name);
    pod.terminating = true;
    pod.ready = false;
    void this.send();
  }

  /**
   * A new pod took the name: probes decide its readiness from here. It is probed every
   * `STARTING_PROBE_MS` until it first passes, not once a period: a deviation from the kubelet
   * (which probes a new container once a period) so that a restart in a test is not a wait of
   * up to a whole period (docs/simulation.md).
   */
  started(name: string): void {
    const pod = this.pod(name);
    pod.terminating = false;
    pod.ready = false;
    pod.consecutiveFailures = 0;
    pod.consecutiveSuccesses = 0;
    pod.generation += 1;
    pod.pid = null;
    void this.send();
    this.probeUntilReady(pod);
  }

  /** The pod's process runs with this pid: the relist watches it from now on. */
  running(name: string, pid: number): void {
    this.pod(name).pid = pid;
  }

  /**
   * The kubelet's relist: a container that exited (a crash, a SIGKILL) makes its pod not ready
   * at once, as the kubelet sets the pod's Ready condition from its containers' state; the
   * readiness probe would take up to `failureThreshold` periods to notice the same.
   */
  private relistContainers(): void {
    let changed = false;
    for (const pod of this.pods) {
      if (pod.pid === null || isAlive(pod.pid)) continue;
      pod.pid = null;
      pod.ready = false;
      pod.consecutiveSuccesses = 0;
      changed = true;
    }
    if (changed) void this.send();
  }

  private probeUntilReady(pod: PodState): void {
    const generation = pod.generation;
    const attempt = async () => {
      if (this.closed || pod.generation !== generation || pod.ready) return;
      await this.probePod(pod);
      if (pod.ready) await this.send();
      else setTimeout(() => void attempt(), STARTING_PROBE_MS).unref();
    };
    setTimeout(() => void attempt(), STARTING_PROBE_MS).unref();
  }

  setReporting(on: boolean): void {
    this.reporting = on;
    if (on) void this.send();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.relist) clearInterval(this.relist);
  }

  private pod(name: string): PodState {
    const pod = this.pods.find((candidate) => candidate.name === name);
    if (!pod) throw new Error(`no pod ${name} in ${this.options.cluster}`);
    return pod;
  }

  private report(): ClusterReport {
    return {
      cluster: this.options.cluster,
      endpoints: this.pods.map(({ name, host, port, ready, terminating, generation }) => ({
        name,
        host,
        port,
        ready,
        terminating,
        generation,
      })),
    };
  }

  private async send(): Promise<void> {
    if (!this.reporting) return;
    try {
      await control(this.options.importerSocket, 'report', this.report(), 1000);
      this.reportsSent += 1;
    } catch {
      this.reportsFailed += 1;
    }
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      void this.round().finally(() => this.schedule(this.options.probe.periodMs));
    }, delayMs);
    this.timer.unref();
  }

  private async probePod(pod: PodState): Promise<void> {
    const { probe } = this.options;
    const passed = await probeOnce(pod, this.options.probePath ?? '/readyz', probe.timeoutMs);
    if (pod.terminating) return;
    if (passed) {
      pod.consecutiveFailures = 0;
      pod.consecutiveSuccesses += 1;
      if (pod.consecutiveSuccesses >= probe.successThreshold) pod.ready = true;
    } else {
      pod.consecutiveSuccesses = 0;
      pod.consecutiveFailures += 1;
      if (pod.consecutiveFailures >= probe.failureThreshold) pod.ready = false;
    }
  }

  private async round(): Promise<void> {
    const before = JSON.stringify(this.report());
    await Promise.all(this.pods.map((pod) => this.probePod(pod)));
    // A change is reported at once; otherwise the heartbeat carries the state.
    if (JSON.stringify(this.report()) !== before) await this.send();
  }
}

/** Like the kubelet's httpGet probe: any 2xx/3xx within the deadline passes. */
function probeOnce(pod: PodEndpoint, path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get(
      { host: pod.host, port: pod.port, path, agent: false, timeout: timeoutMs },
      (response) => {
        response.resume();
        const status = response.statusCode ?? 0;
        resolve(status >= 200 && status < 400);
      },
    );
    request.on('timeout', () => request.destroy(new Error('probe timeout')));
    request.on('error', () => resolve(false));
  });
}

export interface McsImporterOptions extends McsSettings {
  clusterSetIp: string;
  port: number;
  clusters: string[];
}

export interface ImportedCluster {
  cluster: string;
  /** Endpoints as last applied (after the propagation delay). */
  endpoints: ReportedEndpoint[];
  /** When the last report was applied (ms since the epoch); null: never. */
  renewedAt: number | null;
  /** The lease ran out: its endpoints are out of the ClusterSetIP. */
  expired: boolean;
}

export interface RulesetChange {
  at: number;
  endpoints: string[];
  reason: string;
}

export interface McsImporterStatus extends McsSettings {
  clusters: ImportedCluster[];
  /** The addresses the ClusterSetIP DNATs to right now. */
  active: string[];
  changes: RulesetChange[];
  rulesetWrites: number;
  lastError: string | null;
}

export class McsImporter {
  private readonly clusters = new Map<string, ImportedCluster>();
  private readonly settings: McsSettings;
  private active: string[] | null = null;
  private readonly changes: RulesetChange[] = [];
  private rulesetWrites = 0;
  private lastError: string | null = null;
  private writing: Promise<void> = Promise.resolve();
  private readonly leaseTimer: NodeJS.Timeout;
  private readonly pending = new Set<NodeJS.Timeout>();

  constructor(
    private readonly options: McsImporterOptions,
    /** Writes the ruleset; **Default:** `nft -f` in this process's namespace (cluster-1). */
    private readonly applyRuleset: (script: string) => Promise<void> = (script) =>
      nftApply(null, script),
  ) {
    this.settings = { propagationDelayMs: options.propagationDelayMs, leaseMs: options.leaseMs };
    for (const cluster of options.clusters) {
      this.clusters.set(cluster, { cluster, endpoints: [], renewedAt: null, expired: false });
    }
    this.leaseTimer = setInterval(() => this.checkLeases(), 50);
    this.leaseTimer.unref();
  }

  /** Writes the rules for "no endpoints yet" so a connect is refused, never left unrouted. */
  async start(): Promise<void> {
    this.sync('start');
    await this.writing;
    if (this.lastError) throw new Error(this.lastError);
  }

  receive(report: ClusterReport): void {
    if (!this.clusters.has(report.cluster)) throw new Error(`unknown cluster ${report.cluster}`);
    const apply = () => {
      this.pending.delete(timer);
      const cluster = this.clusters.get(report.cluster)!;
      cluster.endpoints = report.endpoints;
      cluster.renewedAt = Date.now();
      cluster.expired = false;
      this.sync(`report from ${report.cluster}`);
    };
    const timer = setTimeout(apply, this.settings.propagationDelayMs);
    this.pending.add(timer);
  }

  configure(change: Partial<McsSettings>): McsSettings {
    for (const key of ['propagationDelayMs', 'leaseMs'] as const) {
      const value = change[key];
      if (value === undefined) continue;
      if (!Number.isFinite(value) || value < 0 || value > 3_600_000) {
        throw new RangeError(`${key} must be a number of milliseconds in 0..3600000`);
      }
      this.settings[key] = value;
    }
    return { ...this.settings };
  }

  status(): McsImporterStatus {
    return {
      ...this.settings,
      clusters: [...this.clusters.values()].map((cluster) => ({ ...cluster })),
      active: this.active ?? [],
      changes: this.changes.slice(-200),
      rulesetWrites: this.rulesetWrites,
      lastError: this.lastError,
    };
  }

  async close(): Promise<void> {
    clearInterval(this.leaseTimer);
    for (const timer of this.pending) clearTimeout(timer);
    await this.writing;
  }

  private checkLeases(): void {
    const now = Date.now();
    for (const cluster of this.clusters.values()) {
      if (cluster.expired || cluster.renewedAt === null) continue;
      if (now - cluster.renewedAt > this.settings.leaseMs) {
        cluster.expired = true;
        this.sync(`lease of ${cluster.cluster} expired`);
      }
    }
  }

  private sync(reason: string): void {
    const wanted = [...this.clusters.values()]
      .filter((cluster) => !cluster.expired)
      .flatMap((cluster) => cluster.endpoints.filter((e) => e.ready && !e.terminating))
      .map((endpoint) => endpoint.host)
      .sort();
    if (this.active && wanted.join() === this.active.join()) return;
    this.active = wanted;
    this.changes.push({ at: Date.now(), endpoints: wanted, reason });
    if (this.changes.length > 400) this.changes.splice(0, 200);
    const script = clusterSetIpRuleset(this.options.clusterSetIp, wanted, this.options.port);
    // Serialized: rules are written in the order the changes happened.
    this.writing = this.writing.then(async () => {
      try {
        await this.applyRuleset(script);
        this.rulesetWrites += 1;
        this.lastError = null;
      } catch (error) {
        this.lastError = error instanceof Error ? error.message : String(error);
      }
    });
  }
}
