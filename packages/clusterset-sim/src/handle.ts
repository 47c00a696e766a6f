/**
 * `ClusterSet`: the handle on a running simulation — what tests and the CLI use to look at it
 * and to break it (kill or restart a replica, cut or slow a cluster's link, stop a cluster's
 * endpoint reports). It reads and updates the state file; it starts nothing at construction.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { control } from './control-channel.js';
import type { McsImporterStatus, ReportedEndpoint } from './endpoints-controller.js';
import { nftApply } from './network.js';
import { linkRuleset, linkShapeFileOf } from './plan.js';
import type { CutMode, LinkSettings, McsSettings, ProcessName, ProcessRecord } from './plan.js';
import {
  DEFAULT_STATE_ROOT,
  readState,
  spawnRecord,
  stateDirFor,
  writeState,
} from './processes.js';
import type { LinkState, SimState } from './processes.js';
import {
  CommandError,
  GiveUpError,
  isAlive,
  run,
  signal,
  tail,
  waitFor,
  waitForExit,
} from './system.js';
import { downClusterSet } from './teardown.js';
import { PRODUCER_CLUSTER_IDS, producerCluster, replicaOf } from './topology.js';
import type { ProducerClusterId, Topology } from './topology.js';

export interface ProcessStatus {
  name: ProcessName;
  namespace: string;
  pid: number | null;
  alive: boolean;
  log: string;
}

export interface EndpointStatus extends ReportedEndpoint {
  cluster: ProducerClusterId;
  /** In the ClusterSetIP's DNAT map right now (after propagation and lease). */
  serving: boolean;
}

export interface LinkControl {
  status(): Promise<LinkState>;
  cut(mode?: CutMode): Promise<LinkState>;
  heal(): Promise<LinkState>;
  shape(change: Partial<LinkSettings>): Promise<LinkState>;
}

export interface ProducerClusterControl {
  readonly id: ProducerClusterId;
  readonly link: LinkControl;
  /** The cluster's endpoint reports stop (a lost cluster): its lease runs out in cluster-1. */
  stopReporting(): Promise<void>;
  resumeReporting(): Promise<void>;
}

/** The links of all exporting clusters at once (a partition of cluster-1 from every producer). */
export interface AllLinksControl {
  status(): Promise<Record<ProducerClusterId, LinkState>>;
  cut(mode?: CutMode): Promise<Record<ProducerClusterId, LinkState>>;
  heal(): Promise<Record<ProducerClusterId, LinkState>>;
  shape(change: Partial<LinkSettings>): Promise<Record<ProducerClusterId, LinkState>>;
}

export class ClusterSet {
  private constructor(private state: SimState) {}

  /** Attaches to a running simulation (e.g. from the CLI or another test file). */
  static attach(options: { instance?: number; stateRoot?: string } = {}): ClusterSet {
    const stateDir = stateDirFor(options.stateRoot ?? DEFAULT_STATE_ROOT, options.instance ?? 0);
    const state = readState(stateDir);
    if (!state) throw new Error(`no clusterset simulation is up (no state in ${stateDir})`);
    return new ClusterSet(state);
  }

  /** @internal */
  static fromState(state: SimState): ClusterSet {
    return new ClusterSet(state);
  }

  get topology(): Topology {
    return this.state.topology;
  }

  /** The ingress gateway, reachable from the root namespace, e.g. `http://198.18.0.2`. */
  get gatewayUrl(): string {
    return this.state.gatewayUrl;
  }

  get stateDir(): string {
    return this.state.stateDir;
  }

  readonly link: AllLinksControl = {
    status: () => this.eachLink((link) => link.status()),
    cut: (mode) => this.eachLink((link) => link.cut(mode)),
    heal: () => this.eachLink((link) => link.heal()),
    shape: (change) => this.eachLink((link) => link.shape(change)),
  };

  cluster(id: ProducerClusterId): ProducerClusterControl {
    const cluster = producerCluster(this.topology, id);
    const exporter = this.controlSocket(`exporter-${id}`);
    return {
      id,
      link: {
        status: () => Promise.resolve({ ...this.state.links[id] }),
        cut: async (mode = 'blackhole') => {
          if (mode !== 'blackhole' && mode !== 'reset')
            throw new Error(`unknown cut mode ${String(mode)}`);
          await nftApply(cluster.linkNamespace, linkRuleset(mode));
          return this.updateLink(id, { cut: mode });
        },
        heal: async () => {
          await nftApply(cluster.linkNamespace, linkRuleset(null));
          return this.updateLink(id, { cut: null });
        },
        shape: async (change) => {
          const next = { ...this.state.links[id] };
          for (const key of ['rttMs', 'jitterMs'] as const) {
            const value = change[key];
            if (value === undefined) continue;
            if (!Number.isFinite(value) || value < 0 || value > 60_000) {
              throw new RangeError(`${key} must be a number of milliseconds in 0..60000`);
            }
            next[key] = value;
          }
          writeLinkShape(this.stateDir, id, next);
          // The delayer re-reads its shape file every 100 ms: resolve once it has.
          await sleep(250);
          return this.updateLink(id, next);
        },
      },
      stopReporting: async () => {
        await control(exporter, 'stop-reporting');
      },
      resumeReporting: async () => {
        await control(exporter, 'resume-reporting');
      },
    };
  }

  /** The MCS importer in cluster-1: leases, applied endpoints, ruleset changes. */
  readonly mcs = {
    status: () => control<McsImporterStatus>(this.controlSocket('mcs-importer')),
    configure: (change: Partial<McsSettings>) =>
      control<McsSettings>(this.controlSocket('mcs-importer'), 'configure', change),
  };

  /** Every producer pod: its cluster's view (ready, terminating) and whether it is served. */
  async endpoints(): Promise<EndpointStatus[]> {
    const mcs = await this.mcs.status();
    const result: EndpointStatus[] = [];
    for (const id of PRODUCER_CLUSTER_IDS) {
      const status = await control<{ endpoints: ReportedEndpoint[] }>(
        this.controlSocket(`exporter-${id}`),
      );
      for (const endpoint of status.endpoints) {
        result.push({ ...endpoint, cluster: id, serving: mcs.active.includes(endpoint.host) });
      }
    }
    return result;
  }

  /**
   * Resolves `name` the way a process in cluster-1 does (getaddrinfo with cluster-1's
   * resolv.conf), via `getent ahostsv4`. Resolves with the addresses, `[]` when the name does
   * not resolve.
   */
  async resolveInCluster1(name: string): Promise<string[]> {
    const output = await run(
      'ip',
      ['netns', 'exec', this.topology.namespaces.cluster1, 'getent', 'ahostsv4', name],
      10_000,
    ).catch((error: unknown) => {
      // getent exits 2 when the name is not found.
      if (error instanceof CommandError && error.exitCode === 2) return '';
      throw error;
    });
    return [
      ...new Set(
        output
          .split('\n')
          .map((line) => line.split(/\s+/)[0])
          .filter(Boolean),
      ),
    ] as string[];
  }

  processes(): ProcessStatus[] {
    return Object.values(this.state.processes).map((record) => ({
      name: record.name,
      namespace: record.namespace,
      pid: record.pid,
      alive: record.pid !== null && isAlive(record.pid),
      log: record.log,
    }));
  }

  pid(name: ProcessName): number | null {
    return this.record(name).pid;
  }

  logFile(name: ProcessName): string {
    return this.record(name).log;
  }

  /**
   * Sends `sig` and waits (bounded) for the process to exit. Resolves with how long it took,
   * or throws naming the process if it outlives `timeoutMs` (it is then SIGKILLed).
   *
   * A producer replica stopped with SIGTERM is a pod being deleted: its cluster's endpoints
   * controller marks it terminating (out of the ready set) first, as Kubernetes does, and the
   * change reaches cluster-1 after the propagation delay. Any other signal is a crash: the
   * exporter's relist of the pod's process notices it within its period (1 s, the kubelet's).
   */
  async stop(
    name: ProcessName,
    sig: NodeJS.Signals = 'SIGTERM',
    timeoutMs = 20_000,
  ): Promise<number> {
    const record = this.record(name);
    const replica = replicaOf(this.topology, name);
    if (replica && sig === 'SIGTERM') {
      await control(this.controlSocket(`exporter-${replica.cluster.id}`), 'terminating', { name });
    }
    const started = Date.now();
    if (record.pid !== null && isAlive(record.pid)) {
      signal(record.pid, sig);
      if (!(await waitForExit(record.pid, timeoutMs))) {
        signal(record.pid, 'SIGKILL');
        await waitForExit(record.pid, 3000);
        throw new Error(
          `${name} did not exit within ${timeoutMs} ms of ${sig}\n${tail(record.log)}`,
        );
      }
    }
    record.pid = null;
    writeState(this.state);
    return Date.now() - started;
  }

  /**
   * (Re)starts a process with its recorded command and environment and waits until ready; a
   * producer replica is ready once cluster-1's ClusterSetIP sends connections to it.
   */
  async start(name: ProcessName, timeoutMs = 30_000): Promise<void> {
    const record = this.record(name);
    if (record.pid !== null && isAlive(record.pid)) throw new Error(`${name} is already running`);
    const replica = replicaOf(this.topology, name);
    let generation = 0;
    if (replica) {
      const exporter = await control<{ endpoints: ReportedEndpoint[] }>(
        this.controlSocket(`exporter-${replica.cluster.id}`),
        'started',
        { name },
      );
      generation = exporter.endpoints.find((endpoint) => endpoint.name === name)?.generation ?? 0;
    }
    await this.spawn([name]);
    await this.waitReady(name, timeoutMs, generation);
  }

  /**
   * Starts the processes of `names` (not waiting for them). A producer replica's pid goes to its
   * cluster's exporter, which watches it as the kubelet watches its containers: when it exits,
   * the pod is not ready from the next relist (a crash needs no failed probes to be noticed).
   */
  async spawn(names: ProcessName[]): Promise<void> {
    for (const name of names) this.record(name).pid = spawnRecord(this.record(name));
    writeState(this.state);
    for (const name of names) {
      const replica = replicaOf(this.topology, name);
      if (!replica) continue;
      await control(this.controlSocket(`exporter-${replica.cluster.id}`), 'running', {
        name,
        pid: this.record(name).pid,
      });
    }
  }

  /**
   * Waits until `name` serves: a helper answers on its control socket, a delayer has attached,
   * the caller is ready behind the gateway, a producer replica (of at least `generation`, its
   * start count) is ready in cluster-1's view and in the ClusterSetIP's rules.
   */
  async waitReady(name: ProcessName, timeoutMs = 30_000, generation = 0): Promise<void> {
    const record = this.record(name);
    const alive = () => {
      if (record.pid === null || !isAlive(record.pid)) {
        throw new GiveUpError(`${name} exited during start-up:\n${tail(record.log)}`);
      }
    };
    const fatal = async <T>(check: () => Promise<T | undefined>) => {
      alive();
      return check();
    };
    const replica = replicaOf(this.topology, name);
    try {
      if (record.controlSocket) {
        const socket = record.controlSocket;
        await waitFor(
          `${name} to listen`,
          () => fatal(() => control(socket, 'status', {}, 1000)),
          timeoutMs,
        );
      } else if (name.startsWith('link-')) {
        await waitFor(
          `${name} to attach to its TUN device`,
          () =>
            fatal(() =>
              Promise.resolve(tail(record.log, 50).includes('delayer ready') ? true : undefined),
            ),
          timeoutMs,
          50,
        );
      } else if (name === 'caller') {
        await waitFor(
          'the caller to be ready behind the gateway',
          () =>
            fatal(async () => {
              const response = await fetch(`${this.gatewayUrl}/readyz`, {
                signal: AbortSignal.timeout(1000),
              });
              await response.body?.cancel();
              return response.status === 200 ? true : undefined;
            }),
          timeoutMs,
          150,
        );
      } else if (replica) {
        await waitFor(
          `${name} to be ready and in the ClusterSetIP's endpoints`,
          () =>
            fatal(async () => {
              const mcs = await this.mcs.status();
              const seen = mcs.clusters
                .find((cluster) => cluster.cluster === replica.cluster.id)
                ?.endpoints.find((endpoint) => endpoint.name === name);
              const current = seen !== undefined && seen.generation >= generation && seen.ready;
              return current && mcs.active.includes(replica.replica.podIp) ? true : undefined;
            }),
          timeoutMs,
          100,
        );
      }
    } catch (error) {
      if (error instanceof GiveUpError) throw error;
      throw new Error(
        `${error instanceof Error ? error.message : String(error)}\n--- ${record.log} ---\n${tail(record.log)}`,
        { cause: error },
      );
    }
  }

  /** Stops every process and removes namespaces, links and state. */
  async down(): Promise<string[]> {
    return downClusterSet({
      instance: this.state.instance,
      stateRoot: path.dirname(this.state.stateDir),
    });
  }

  private async eachLink(
    act: (link: LinkControl) => Promise<LinkState>,
  ): Promise<Record<ProducerClusterId, LinkState>> {
    const result = {} as Record<ProducerClusterId, LinkState>;
    for (const id of PRODUCER_CLUSTER_IDS) result[id] = await act(this.cluster(id).link);
    return result;
  }

  private updateLink(id: ProducerClusterId, change: Partial<LinkState>): LinkState {
    this.state.links[id] = { ...this.state.links[id], ...change };
    writeState(this.state);
    return { ...this.state.links[id] };
  }

  private controlSocket(name: ProcessName): string {
    const socket = this.record(name).controlSocket;
    if (!socket) throw new Error(`${name} has no control socket`);
    return socket;
  }

  private record(name: ProcessName): ProcessRecord {
    const record = this.state.processes[name];
    if (!record) throw new Error(`unknown process ${name}`);
    return record;
  }
}

/** Written before the delayer starts and on every change; the delayer re-reads it. */
export function writeLinkShape(stateDir: string, id: ProducerClusterId, shape: LinkSettings): void {
  const file = linkShapeFileOf(stateDir, id);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, JSON.stringify({ rttMs: shape.rttMs, jitterMs: shape.jitterMs }));
  fs.renameSync(`${file}.tmp`, file);
}
