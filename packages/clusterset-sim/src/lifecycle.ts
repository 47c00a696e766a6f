/**
 * `upClusterSet`: checks the machine, carries out the plan (network, then processes in order)
 * and waits until the caller is ready behind the gateway with every producer replica in the
 * ClusterSetIP. On failure everything made so far is removed before the error is rethrown.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeResolvConf } from './clusterset-dns.js';
import { ClusterSet, writeLinkShape } from './handle.js';
import { createNetwork, removeNetwork } from './network.js';
import { processPlan, readinessProbeFromManifest } from './plan.js';
import type {
  AppLaunch,
  McsReportSettings,
  McsSettings,
  ProbeSettings,
  ProcessName,
  ProcessRecord,
} from './plan.js';
import {
  DEFAULT_STATE_ROOT,
  readState,
  spawnRecord,
  stateDirFor,
  writeState,
} from './processes.js';
import type { SimState } from './processes.js';
import { run } from './system.js';
import { downClusterSet } from './teardown.js';
import { PRODUCER_CLUSTER_IDS, topologyFor } from './topology.js';

export interface ClusterSetOptions {
  /** 0..15; selects names and addresses (see topology.ts). **Default:** 0. */
  instance?: number;
  /** State files, logs and control sockets go under `<stateRoot>/<instance>`. **Default:** `/run/s2s-sim`. */
  stateRoot?: string;
  /** Where `apps/caller`, `apps/producer` and `k8s/` are. **Default:** the monorepo this package is in. */
  repoRoot?: string;
  /** Override how the caller/producer are started (tests use this for stand-ins). */
  apps?: { caller?: AppLaunch; producer?: AppLaunch };
  /** Round-trip time of each link between cluster-1 and an exporting cluster. **Default:** 35. */
  rttMs?: number;
  /** ± jitter per direction. **Default:** 2. */
  jitterMs?: number;
  /** TTL of the clusterset DNS answers. **Default:** 2. */
  dnsTtlSeconds?: number;
  /**
   * The kubelet's readiness probing of each producer pod. **Default:** the `readinessProbe` of
   * `k8s/base/producer/deployment.yaml` (today period 5 s, timeout 2 s, failure threshold 2).
   */
  probe?: Partial<ProbeSettings>;
  /**
   * How often the kubelet relists a producer pod's process: once it has exited (a crash, a
   * SIGKILL), the pod is not ready from the next relist, before any probe fails. **Default:**
   * 1000, the kubelet's relist period.
   */
  kubeletRelistMs?: number;
  /** @deprecated the one-cluster balancer's names for `probe`; still honoured. */
  balancer?: { probeIntervalMs?: number; probeTimeoutMs?: number; failureThreshold?: number };
  /**
   * Multi-cluster Services: **Default:** propagation delay 1000 ms, lease 10000 ms, a report
   * (lease renewal) every 1000 ms — not GKE's numbers: it publishes none (docs/simulation.md).
   */
  mcs?: Partial<McsSettings & McsReportSettings>;
  /** Extra environment for the caller (e.g. PRODUCER_TIMEOUT_MS). PRODUCER_URL is never set. */
  callerEnv?: Record<string, string>;
  /** Extra environment for every producer replica (e.g. SHUTDOWN_DELAY_MS). */
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

export const DEFAULT_MCS: McsSettings & McsReportSettings = {
  propagationDelayMs: 1000,
  leaseMs: 10_000,
  heartbeatMs: 1000,
};

const HERE = path.dirname(fileURLToPath(import.meta.url));
const HELPER_ENTRY = path.join(HERE, 'helper-main.js');
const DELAYER_SCRIPT = path.resolve(HERE, '../helpers/link-delayer.py');
const DEFAULT_REPO_ROOT = path.resolve(HERE, '../../..');

/** The system python3 (Debian's), not a per-user shim that needs its own environment. */
function python3(): string {
  if (fs.existsSync('/usr/bin/python3')) return '/usr/bin/python3';
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = path.join(dir, 'python3');
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  throw new Error(
    'the clusterset simulation needs python3 (the link delayer): apt-get install python3',
  );
}

/** Fails loudly unless this process can build the simulation. */
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
      'the clusterset simulation needs root (network namespaces, veth links, nftables); run as root',
    );
  }
  const need = async (what: string, command: string, args: string[], hint: string) => {
    try {
      await run(command, args, 5000);
    } catch (error) {
      throw new Error(
        `${what} is not usable (${hint}): ${error instanceof Error ? error.message : String(error)}`,
        {
          cause: error,
        },
      );
    }
  };
  await need('"ip netns"', 'ip', ['netns', 'list'], 'install iproute2');
  await need('"nft"', 'nft', ['--version'], 'install nftables');
  if (!fs.existsSync('/dev/net/tun'))
    throw new Error('/dev/net/tun is missing: the link delayer needs TUN devices');
  python3();
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

function probeSettings(options: ClusterSetOptions, repoRoot: string): ProbeSettings {
  const manifest = path.join(repoRoot, 'k8s/base/producer/deployment.yaml');
  const fromManifest = readinessProbeFromManifest(fs.readFileSync(manifest, 'utf8'));
  const legacy = options.balancer;
  return {
    ...fromManifest,
    ...(legacy?.probeIntervalMs !== undefined && { periodMs: legacy.probeIntervalMs }),
    ...(legacy?.probeTimeoutMs !== undefined && { timeoutMs: legacy.probeTimeoutMs }),
    ...(legacy?.failureThreshold !== undefined && { failureThreshold: legacy.failureThreshold }),
    ...options.probe,
  };
}

function kubeletRelistMs(options: ClusterSetOptions): number {
  const value = options.kubeletRelistMs ?? 1000;
  if (!Number.isInteger(value) || value < 10) {
    throw new Error(`kubeletRelistMs must be a whole number of milliseconds ≥ 10, got ${value}`);
  }
  return value;
}

function mcsSettings(options: ClusterSetOptions): McsSettings & McsReportSettings {
  const mcs = { ...DEFAULT_MCS, ...options.mcs };
  if (mcs.leaseMs <= mcs.heartbeatMs) {
    throw new Error(
      `mcs.leaseMs (${mcs.leaseMs}) must be longer than mcs.heartbeatMs (${mcs.heartbeatMs}): a healthy cluster's lease would run out between its reports`,
    );
  }
  return mcs;
}

export async function upClusterSet(options: ClusterSetOptions = {}): Promise<ClusterSet> {
  await assertCanSimulate();
  const instance = options.instance ?? 0;
  const stateRoot = options.stateRoot ?? DEFAULT_STATE_ROOT;
  const stateDir = stateDirFor(stateRoot, instance);
  if (readState(stateDir)) {
    throw new Error(
      `clusterset simulation ${instance} is already up (state in ${stateDir}); run "down" first`,
    );
  }
  const topology = topologyFor(instance);
  const repoRoot = options.repoRoot ?? DEFAULT_REPO_ROOT;
  const gatewayPort = options.gatewayPort ?? 80;
  const link = { rttMs: options.rttMs ?? 35, jitterMs: options.jitterMs ?? 2 };
  const records = processPlan({
    topology,
    stateDir,
    helperEntry: HELPER_ENTRY,
    delayer: { python: python3(), script: DELAYER_SCRIPT },
    caller: appLaunch(options.apps?.caller, repoRoot, 'caller'),
    producer: appLaunch(options.apps?.producer, repoRoot, 'producer'),
    callerEnv: options.callerEnv ?? {},
    producerEnv: options.producerEnv ?? {},
    gatewayPort,
    dnsTtlSeconds: options.dnsTtlSeconds ?? 2,
    probe: probeSettings(options, repoRoot),
    kubeletRelistMs: kubeletRelistMs(options),
    mcs: mcsSettings(options),
    link,
  });

  fs.rmSync(stateDir, { recursive: true, force: true });
  fs.mkdirSync(path.join(stateDir, 'logs'), { recursive: true });
  fs.mkdirSync(path.join(stateDir, 'ctl'), { recursive: true });
  const state: SimState = {
    instance,
    createdAt: new Date().toISOString(),
    stateDir,
    gatewayUrl: `http://${topology.addresses.gateway}${gatewayPort === 80 ? '' : `:${gatewayPort}`}`,
    topology,
    links: Object.fromEntries(
      PRODUCER_CLUSTER_IDS.map((id) => [id, { ...link, cut: null }]),
    ) as SimState['links'],
    processes: Object.fromEntries(records.map((record) => [record.name, record])),
  };
  writeState(state);
  const clusterSet = ClusterSet.fromState(state);
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  try {
    await removeNetwork(topology); // leftovers of a run whose state file was lost
    await createNetwork(topology);
    writeResolvConf(topology.namespaces.cluster1, topology.addresses.dns);
    for (const id of PRODUCER_CLUSTER_IDS) writeLinkShape(stateDir, id, link);
    const startAll = async (names: ProcessName[]) => {
      await clusterSet.spawn(names);
      await Promise.all(names.map((name) => clusterSet.waitReady(name, timeoutMs)));
    };
    const all = records.map((record) => record.name);
    const producers = all.filter((name) => name.startsWith('producer-'));
    await startAll(all.filter((name) => !producers.includes(name) && name !== 'caller'));
    await startAll(producers);
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
          stateRoot,
          '--after-ms',
          String(options.ttlMs),
        ],
        env: {},
        log: path.join(stateDir, 'logs', 'reaper.log'),
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
