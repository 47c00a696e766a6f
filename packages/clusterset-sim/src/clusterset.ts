/**
 * Brings a two-cluster setup up and down on one Linux machine (root, `ip netns`):
 *
 *   root ns ──veth── s2sN-c1 ──veth── s2sN-link ──veth── s2sN-c2
 *   (person,        gateway :80       link shaper         ClusterSetIP balancer :8080
 *    tests)         caller :8080      (latency, cut)      producer-a, producer-b :8080
 *                   DNS :53
 *
 * Every process it starts, and every namespace and link it makes, is written to a state file
 * first, so `downClusterSet` removes them even after a crash; it also kills anything still
 * running inside the namespaces. All waits are bounded.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { EndpointStatus } from './clusterset-balancer.js';
import { control } from './control-channel.js';
import type { CutMode, LinkState, LinkStats } from './link-shaper.js';
import {
  CommandError,
  GiveUpError,
  isAlive,
  ip,
  ipQuiet,
  run,
  signal,
  tail,
  waitFor,
  waitForExit,
} from './system.js';
import {
  CALLER_CLUSTER,
  CLUSTERSET_HOST,
  PRODUCER_CLUSTER,
  SERVICE_PORT,
  topologyFor,
} from './topology.js';
import type { Topology } from './topology.js';

export const DEFAULT_STATE_ROOT = '/run/s2s-sim';

export interface AppLaunch {
  /** Working directory (the app's folder). */
  cwd: string;
  /**
   * Arguments after `node`. **Default:** those of the app's `start` script (as its image starts
   * it), else `['--enable-source-maps', 'dist/server.js']`.
   */
  args?: string[];
}

export interface ClusterSetOptions {
  /** 0..15; selects names and addresses (see topology.ts). **Default:** 0. */
  instance?: number;
  /** State files, logs and control sockets go under `<stateRoot>/<instance>`. **Default:** `/run/s2s-sim`. */
  stateRoot?: string;
  /** Where `apps/caller` and `apps/producer` are. **Default:** the monorepo this package is in. */
  repoRoot?: string;
  /** Override how the caller/producer are started (tests use this for stand-ins). */
  apps?: { caller?: AppLaunch; producer?: AppLaunch };
  /** Round-trip time of the link between the clusters. **Default:** 35. */
  rttMs?: number;
  /** ± jitter per direction. **Default:** 2. */
  jitterMs?: number;
  /** TTL of the clusterset DNS answers. **Default:** 2. */
  dnsTtlSeconds?: number;
  /** The ClusterSetIP balancer's readiness probing. */
  balancer?: { probeIntervalMs?: number; probeTimeoutMs?: number; failureThreshold?: number };
  /** Extra environment for the caller (e.g. PRODUCER_TIMEOUT_MS). PRODUCER_URL is never set. */
  callerEnv?: Record<string, string>;
  /** Extra environment for both producer replicas (e.g. SHUTDOWN_DELAY_MS). */
  producerEnv?: Record<string, string>;
  /** Port of the ingress gateway. **Default:** 80. */
  gatewayPort?: number;
  /** Bound on bringing everything up. **Default:** 60000. */
  startTimeoutMs?: number;
  /**
   * Lifetime: a detached reaper takes everything down after this long, so a forgotten
   * simulation does not outlive its purpose. **Default:** none (the CLI sets 4 hours).
   */
  ttlMs?: number;
}

export type ProcessName =
  | 'dns'
  | 'link-shaper'
  | 'balancer'
  | 'gateway'
  | 'producer-a'
  | 'producer-b'
  | 'caller'
  | 'reaper';

export const PRODUCER_REPLICAS = ['producer-a', 'producer-b'] as const;

interface ProcessRecord {
  name: ProcessName;
  namespace: string;
  cwd: string;
  args: string[];
  env: Record<string, string>;
  log: string;
  controlSocket: string | null;
  pid: number | null;
}

interface SimState {
  instance: number;
  createdAt: string;
  stateDir: string;
  gatewayUrl: string;
  topology: Topology;
  processes: Record<string, ProcessRecord>;
}

export interface ProcessStatus {
  name: ProcessName;
  namespace: string;
  pid: number | null;
  alive: boolean;
  log: string;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const HELPER_ENTRY = path.join(HERE, 'helper-main.js');
const DEFAULT_REPO_ROOT = path.resolve(HERE, '../../..');

function stateDirFor(stateRoot: string, instance: number): string {
  return path.join(stateRoot, String(instance));
}

function readState(stateDir: string): SimState | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(stateDir, 'state.json'), 'utf8')) as SimState;
  } catch {
    return null;
  }
}

function writeState(state: SimState): void {
  const file = path.join(state.stateDir, 'state.json');
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2));
  fs.renameSync(`${file}.tmp`, file);
}

/** Fails loudly unless this process can create network namespaces. */
export async function assertCanSimulate(): Promise<void> {
  if (process.platform !== 'linux') throw new Error('the clusterset simulation needs Linux');
  const nodeMajor = Number(process.versions.node.split('.')[0]);
  if (nodeMajor < 24) {
    // The apps are started with this very node binary.
    throw new Error(
      `the clusterset simulation needs Node 24 or later, this is ${process.version} (source .ci/env.sh)`,
    );
  }
  if (process.getuid?.() !== 0) {
    throw new Error(
      'the clusterset simulation needs root (network namespaces and veth links); run as root',
    );
  }
  try {
    await run('ip', ['netns', 'list'], 5000);
  } catch (error) {
    throw new Error(
      `"ip netns" is not usable (install iproute2): ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

/** `ip` in namespace `ns` (null: the root namespace); `words` is split on spaces. */
function ipIn(ns: string | null, words: string): Promise<string> {
  const args = words.split(' ');
  return ns ? ip('-n', ns, ...args) : ip(...args);
}

/** A veth pair from `a` to `b`, addressed and up. A namespace of null is the root one. */
async function vethPair(
  a: { ns: string | null; name: string; address: string },
  b: { ns: string; name: string; address: string },
  prefix: number,
): Promise<void> {
  await ipIn(a.ns, `link add ${a.name} type veth peer name ${b.name} netns ${b.ns}`);
  await ipIn(a.ns, `addr add ${a.address}/${prefix} dev ${a.name}`);
  await ipIn(b.ns, `addr add ${b.address}/${prefix} dev ${b.name}`);
  await ipIn(a.ns, `link set ${a.name} up`);
  await ipIn(b.ns, `link set ${b.name} up`);
}

async function createNetwork(topology: Topology): Promise<void> {
  const { namespaces: ns, veths, addresses: a, prefixes } = topology;
  for (const name of Object.values(ns)) {
    await ip('netns', 'add', name);
    await ipIn(name, 'link set lo up');
  }
  // root ↔ cluster-1: the gateway's address is what a person opens.
  await vethPair(
    { ns: null, name: veths.host.hostSide, address: a.hostGatewayPeer },
    { ns: ns.cluster1, name: veths.host.cluster1Side, address: a.gateway },
    prefixes.hostLink,
  );
  // cluster-1 ↔ link ↔ cluster-2
  await vethPair(
    { ns: ns.cluster1, name: veths.cluster1ToLink.cluster1Side, address: a.cluster1Node },
    { ns: ns.link, name: veths.cluster1ToLink.linkSide, address: a.linkCluster1Side },
    prefixes.links,
  );
  await vethPair(
    { ns: ns.link, name: veths.linkToCluster2.linkSide, address: a.linkCluster2Side },
    { ns: ns.cluster2, name: veths.linkToCluster2.cluster2Side, address: a.cluster2Node },
    prefixes.links,
  );
  // Service and pod addresses live on loopback, as /32s.
  for (const address of [a.dns, a.caller]) await ipIn(ns.cluster1, `addr add ${address}/32 dev lo`);
  for (const address of [a.clusterSetIp, ...a.producers]) {
    await ipIn(ns.cluster2, `addr add ${address}/32 dev lo`);
  }
  // The link namespace intercepts traffic for the ClusterSetIP (a sidecar would use an
  // iptables redirect; a local address does the same here), so it crosses the shaper.
  await ipIn(ns.link, `addr add ${a.clusterSetIp}/32 dev lo`);
  // cluster-1 reaches the ClusterSetIP only across the link; there is no default route, so
  // anything else (e.g. a metadata server) fails at once instead of hanging.
  await ipIn(ns.cluster1, `route add ${a.clusterSetIp}/32 via ${a.linkCluster1Side}`);
  // cluster-1's resolver: `ip netns exec` bind-mounts /etc/netns/NS/resolv.conf over
  // /etc/resolv.conf. The search list and ndots mirror a Kubernetes pod in namespace istio-apps.
  const etc = path.join('/etc/netns', ns.cluster1);
  fs.mkdirSync(etc, { recursive: true });
  fs.writeFileSync(
    path.join(etc, 'resolv.conf'),
    [
      '# written by @s2s/clusterset-sim: the clusterset DNS of cluster-1',
      `nameserver ${a.dns}`,
      'search istio-apps.svc.cluster.local svc.cluster.local cluster.local',
      'options ndots:5 timeout:1 attempts:2',
      '',
    ].join('\n'),
  );
}

async function removeNetwork(topology: Topology): Promise<string[]> {
  const removed: string[] = [];
  const existing = await ip('netns', 'list').catch(() => '');
  for (const name of Object.values(topology.namespaces)) {
    if (!existing.split('\n').some((line) => line.split(' ')[0] === name)) continue;
    // Anything still running in the namespace (ours or a stray child) goes first.
    const pids = (await ip('netns', 'pids', name).catch(() => ''))
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((pid) => Number.isInteger(pid) && pid > 0);
    for (const pid of pids) signal(pid, 'SIGKILL');
    await Promise.all(pids.map((pid) => waitForExit(pid, 3000)));
    await ipQuiet('netns', 'del', name);
    removed.push(`netns ${name}`);
  }
  // Deleting a namespace destroys its veth pairs; the root side may take a moment.
  const hostSide = topology.veths.host.hostSide;
  if ((await ip('link', 'show', hostSide).catch(() => '')) !== '') {
    await ipQuiet('link', 'del', hostSide);
    removed.push(`link ${hostSide}`);
  }
  for (const name of Object.values(topology.namespaces)) {
    const etc = path.join('/etc/netns', name);
    if (fs.existsSync(etc)) {
      fs.rmSync(etc, { recursive: true, force: true });
      removed.push(etc);
    }
  }
  return removed;
}

function baseEnv(): Record<string, string> {
  // A clean environment: nothing from the calling shell (PRODUCER_URL, NODE_OPTIONS, VITEST…)
  // leaks into the apps.
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  if (process.env.HOME) env.HOME = process.env.HOME;
  return env;
}

function spawnRecord(record: ProcessRecord): number {
  fs.mkdirSync(path.dirname(record.log), { recursive: true });
  const out = fs.openSync(record.log, 'a');
  try {
    // An empty namespace means the root namespace (the reaper).
    const [command, args] = record.namespace
      ? ['ip', ['netns', 'exec', record.namespace, process.execPath, ...record.args]]
      : [process.execPath, record.args];
    const child = spawn(command, args, {
      cwd: record.cwd,
      env: { ...baseEnv(), ...record.env },
      detached: true,
      stdio: ['ignore', out, out],
    });
    child.on('error', () => {});
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${record.name}`);
    // `ip netns exec` execs the command, so this is the pid of node itself.
    return child.pid;
  } finally {
    fs.closeSync(out);
  }
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

  readonly link = {
    status: () => control<LinkStats>(this.controlSocket('link-shaper')),
    cut: (mode: CutMode = 'blackhole') =>
      control<LinkState>(this.controlSocket('link-shaper'), 'cut', { mode }),
    heal: () => control<LinkState>(this.controlSocket('link-shaper'), 'heal'),
    shape: (change: { rttMs?: number; jitterMs?: number }) =>
      control<LinkState>(this.controlSocket('link-shaper'), 'shape', change),
  };

  async endpoints(): Promise<EndpointStatus[]> {
    const status = await control<{ endpoints: EndpointStatus[] }>(this.controlSocket('balancer'));
    return status.endpoints;
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
   */
  async stop(
    name: ProcessName,
    sig: NodeJS.Signals = 'SIGTERM',
    timeoutMs = 20_000,
  ): Promise<number> {
    const record = this.record(name);
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

  /** (Re)starts a process with its recorded command and environment and waits until ready. */
  async start(name: ProcessName, timeoutMs = 30_000): Promise<void> {
    const record = this.record(name);
    if (record.pid !== null && isAlive(record.pid)) throw new Error(`${name} is already running`);
    record.pid = spawnRecord(record);
    writeState(this.state);
    await this.waitReady(name, timeoutMs);
  }

  async waitReady(name: ProcessName, timeoutMs = 30_000): Promise<void> {
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
    try {
      if (record.controlSocket) {
        const socket = record.controlSocket;
        await waitFor(
          `${name} to listen`,
          () => fatal(() => control(socket, 'status', {}, 1000)),
          timeoutMs,
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
      } else {
        await waitFor(
          `${name} to pass the balancer's readiness probe`,
          () =>
            fatal(async () => {
              const endpoint = (await this.endpoints()).find((e) => e.name === name);
              return endpoint?.ready ? true : undefined;
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

const DEFAULT_APP_ARGS = ['--enable-source-maps', 'dist/server.js'];

/**
 * The node arguments of an app's `start` script (`node --enable-source-maps dist/server.js`,
 * which its Dockerfile's CMD mirrors), so the simulation starts the apps as their images do.
 */
function startScriptArgs(cwd: string): string[] {
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(cwd, 'package.json'), 'utf8')) as {
      scripts?: Record<string, string>;
    };
    const words = (manifest.scripts?.start ?? '').trim().split(/\s+/);
    // Only a plain `node …` command without shell syntax is taken over.
    if (words[0] === 'node' && words.length > 1 && !/[;&|<>$`'"]/.test(words.join(' '))) {
      return words.slice(1);
    }
  } catch {
    // no readable package.json: the default below
  }
  return DEFAULT_APP_ARGS;
}

function appLaunch(
  launch: AppLaunch | undefined,
  repoRoot: string,
  app: string,
): Required<AppLaunch> {
  const cwd = launch?.cwd ?? path.join(repoRoot, 'apps', app);
  const args = launch?.args ?? startScriptArgs(cwd);
  // The script is the last argument (options such as `--import X` come before it).
  const entry = args.at(-1);
  if (entry && !entry.startsWith('-') && !fs.existsSync(path.resolve(cwd, entry))) {
    throw new Error(
      `${path.resolve(cwd, entry)} does not exist: build the apps first (pnpm sim up builds them)`,
    );
  }
  return { cwd, args };
}

/**
 * Creates the namespaces and links, starts DNS, link shaper, balancer, gateway, both producer
 * replicas and the caller, and waits until the caller is ready behind the gateway. On failure
 * everything made so far is removed before the error is rethrown.
 */
export async function upClusterSet(options: ClusterSetOptions = {}): Promise<ClusterSet> {
  await assertCanSimulate();
  const instance = options.instance ?? 0;
  const stateDir = stateDirFor(options.stateRoot ?? DEFAULT_STATE_ROOT, instance);
  if (readState(stateDir)) {
    throw new Error(
      `clusterset simulation ${instance} is already up (state in ${stateDir}); run "down" first`,
    );
  }
  const topology = topologyFor(instance);
  const repoRoot = options.repoRoot ?? DEFAULT_REPO_ROOT;
  const callerApp = appLaunch(options.apps?.caller, repoRoot, 'caller');
  const producerApp = appLaunch(options.apps?.producer, repoRoot, 'producer');
  const a = topology.addresses;
  const ns = topology.namespaces;
  const gatewayPort = options.gatewayPort ?? 80;
  const gatewayUrl = `http://${a.gateway}${gatewayPort === 80 ? '' : `:${gatewayPort}`}`;

  fs.rmSync(stateDir, { recursive: true, force: true });
  fs.mkdirSync(path.join(stateDir, 'logs'), { recursive: true });
  fs.mkdirSync(path.join(stateDir, 'ctl'), { recursive: true });
  const log = (name: string) => path.join(stateDir, 'logs', `${name}.log`);
  const ctl = (name: string) => path.join(stateDir, 'ctl', `${name}.sock`);
  const helper = (
    name: ProcessName,
    namespace: string,
    role: string,
    config: unknown,
  ): ProcessRecord => ({
    name,
    namespace,
    cwd: HERE,
    args: [HELPER_ENTRY, role, JSON.stringify(config), ctl(name)],
    env: {},
    log: log(name),
    controlSocket: ctl(name),
    pid: null,
  });
  const producer = (name: 'producer-a' | 'producer-b', podIp: string): ProcessRecord => ({
    name,
    namespace: ns.cluster2,
    cwd: producerApp.cwd,
    args: producerApp.args,
    env: {
      PORT: String(SERVICE_PORT),
      HOST: podIp,
      CLUSTER_NAME: PRODUCER_CLUSTER.name,
      CLUSTER_LOCATION: PRODUCER_CLUSTER.location,
      POD_NAME: `sample-producer-${name.slice(-1)}`,
      POD_IP: podIp,
      APP_VERSION: 'v1',
      ...options.producerEnv,
    },
    log: log(name),
    controlSocket: null,
    pid: null,
  });
  const processes: ProcessRecord[] = [
    helper('dns', ns.cluster1, 'dns', {
      listen: { host: a.dns, port: 53 },
      records: { [CLUSTERSET_HOST]: a.clusterSetIp },
      ttlSeconds: options.dnsTtlSeconds ?? 2,
    }),
    helper('link-shaper', ns.link, 'link-shaper', {
      listen: { host: a.clusterSetIp, port: SERVICE_PORT },
      target: { host: a.cluster2Node, port: SERVICE_PORT },
      rttMs: options.rttMs ?? 35,
      jitterMs: options.jitterMs ?? 2,
    }),
    helper('balancer', ns.cluster2, 'balancer', {
      listen: [
        { host: a.clusterSetIp, port: SERVICE_PORT },
        { host: a.cluster2Node, port: SERVICE_PORT },
      ],
      endpoints: PRODUCER_REPLICAS.map((name, index) => ({
        name,
        host: a.producers[index]!,
        port: SERVICE_PORT,
      })),
      probeIntervalMs: options.balancer?.probeIntervalMs ?? 250,
      probeTimeoutMs: options.balancer?.probeTimeoutMs ?? 200,
      failureThreshold: options.balancer?.failureThreshold ?? 2,
    }),
    helper('gateway', ns.cluster1, 'gateway', {
      listen: { host: a.gateway, port: gatewayPort },
      upstream: { host: a.caller, port: SERVICE_PORT },
    }),
    producer('producer-a', a.producers[0]!),
    producer('producer-b', a.producers[1]!),
    {
      name: 'caller',
      namespace: ns.cluster1,
      cwd: callerApp.cwd,
      args: callerApp.args,
      // The contract's default PRODUCER_URL and no PRODUCER_CONNECT_TO: the clusterset name is
      // resolved by the DNS above and the call crosses the link.
      env: {
        PORT: String(SERVICE_PORT),
        HOST: '0.0.0.0',
        CLUSTER_NAME: CALLER_CLUSTER.name,
        CLUSTER_LOCATION: CALLER_CLUSTER.location,
        POD_NAME: 'sample-caller-0',
        POD_IP: a.caller,
        APP_VERSION: 'v1',
        ...options.callerEnv,
      },
      log: log('caller'),
      controlSocket: null,
      pid: null,
    },
  ];
  for (const record of processes) {
    delete record.env.PRODUCER_URL;
    delete record.env.PRODUCER_CONNECT_TO;
  }
  const state: SimState = {
    instance,
    createdAt: new Date().toISOString(),
    stateDir,
    gatewayUrl,
    topology,
    processes: Object.fromEntries(processes.map((record) => [record.name, record])),
  };
  writeState(state);
  const clusterSet = ClusterSet.fromState(state);
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  try {
    await removeNetwork(topology); // leftovers of a run whose state file was lost
    await createNetwork(topology);
    const startAll = async (names: ProcessName[]) => {
      for (const name of names) {
        const record = state.processes[name]!;
        record.pid = spawnRecord(record);
      }
      writeState(state);
      await Promise.all(names.map((name) => clusterSet.waitReady(name, timeoutMs)));
    };
    await startAll(['dns', 'link-shaper', 'balancer', 'gateway', 'producer-a', 'producer-b']);
    await startAll(['caller']);
    if (options.ttlMs !== undefined) {
      const reaper: ProcessRecord = {
        name: 'reaper',
        namespace: '',
        cwd: HERE,
        args: [
          path.join(HERE, 'cli.js'),
          'reap',
          '--instance',
          String(instance),
          '--state-root',
          options.stateRoot ?? DEFAULT_STATE_ROOT,
          '--after-ms',
          String(options.ttlMs),
        ],
        env: {},
        log: log('reaper'),
        controlSocket: null,
        pid: null,
      };
      state.processes.reaper = reaper;
      reaper.pid = spawnRecord(reaper);
      writeState(state);
    }
    return clusterSet;
  } catch (error) {
    await downClusterSet({ instance, stateRoot: options.stateRoot, keepLogs: true }).catch(
      () => undefined,
    );
    throw error;
  }
}

export interface DownOptions {
  instance?: number;
  stateRoot?: string;
  /**
   * Keep the log files: `true` moves them to `<stateRoot>/<instance>.last-logs`, a path copies
   * them into that folder. **Default:** false.
   */
  keepLogs?: boolean | string;
}

/** Removes everything simulation `instance` made. Safe to call when nothing is up. */
export async function downClusterSet(options: DownOptions = {}): Promise<string[]> {
  const instance = options.instance ?? 0;
  const stateDir = stateDirFor(options.stateRoot ?? DEFAULT_STATE_ROOT, instance);
  const state = readState(stateDir);
  const removed: string[] = [];
  if (state) {
    // The reaper runs this very function: it must not signal itself.
    const running = Object.values(state.processes).filter(
      (record) => record.pid !== null && record.pid !== process.pid && isAlive(record.pid),
    );
    for (const record of running) signal(record.pid!, 'SIGTERM');
    const exited = await Promise.all(running.map((record) => waitForExit(record.pid!, 3000)));
    running.forEach((record, index) => {
      if (!exited[index]) signal(record.pid!, 'SIGKILL');
      removed.push(`process ${record.name} (pid ${record.pid})`);
    });
    await sleep(0);
  }
  removed.push(...(await removeNetwork(topologyFor(instance))));
  if (fs.existsSync(stateDir)) {
    const logs = path.join(stateDir, 'logs');
    if (options.keepLogs && fs.existsSync(logs)) {
      const keep =
        typeof options.keepLogs === 'string' ? options.keepLogs : `${stateDir}.last-logs`;
      fs.rmSync(keep, { recursive: true, force: true });
      fs.cpSync(logs, keep, { recursive: true });
      removed.push(`(logs kept in ${keep})`);
    }
    fs.rmSync(stateDir, { recursive: true, force: true });
    removed.push(stateDir);
  }
  return removed;
}
