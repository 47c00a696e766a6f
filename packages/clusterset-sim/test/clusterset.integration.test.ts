/**
 * The harness itself, with tiny stand-in apps (test/fixtures) instead of the real ones, so it
 * is tested even when the apps are broken. Needs root, `ip netns`, nft, /dev/net/tun and
 * python3: without them this file fails loudly (assertCanSimulate), it never passes silently.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as HandleModule from '../src/handle.js';
import type * as LifecycleModule from '../src/lifecycle.js';
import type * as SystemModule from '../src/system.js';
import type * as TeardownModule from '../src/teardown.js';
import type * as TopologyModule from '../src/topology.js';

// The built harness, because it starts its helper processes from dist/ (`test` runs after
// `build`); loaded by path so that typechecking does not need dist/.
const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist');
const { assertCanSimulate, upClusterSet } = (await import(
  path.join(DIST, 'lifecycle.js')
)) as typeof LifecycleModule;
const { downClusterSet } = (await import(path.join(DIST, 'teardown.js'))) as typeof TeardownModule;
const { ip, isAlive } = (await import(path.join(DIST, 'system.js'))) as typeof SystemModule;
const { topologyFor } = (await import(path.join(DIST, 'topology.js'))) as typeof TopologyModule;
type ClusterSet = HandleModule.ClusterSet;

// Instance 2: apart from a person's instance 0 and the e2e suite's instance 1.
const INSTANCE = 2;
const STATE_ROOT = '/run/s2s-sim-harness-test';
const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const topology = topologyFor(INSTANCE);
const PROPAGATION_MS = 400;
const LEASE_MS = 2000;
// Long, so that a crashed replica stays in the ClusterSetIP for the whole test (only the
// probes would notice a crash); a SIGTERM'ed one is withdrawn at once instead.
const PROBE_PERIOD_MS = 60_000;

async function post(url: string, body: unknown) {
  const response = await fetch(`${url}/caller/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

interface Attempt {
  connected: boolean;
  code: string | null;
  status?: number | null;
  bytesWritten?: number;
  elapsedMs: number;
}

/** TCP connects from inside cluster-1 (where the ClusterSetIP rules are), one after another. */
function connectFromCluster1(host: string, count: number, timeoutMs: number): Promise<Attempt[]> {
  return new Promise((resolve, reject) => {
    execFile(
      'ip',
      [
        'netns',
        'exec',
        topology.namespaces.cluster1,
        process.execPath,
        path.join(FIXTURES, 'connect-probe.mjs'),
        host,
        '8080',
        String(count),
        String(timeoutMs),
      ],
      { timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`connect-probe failed: ${stderr || error.message}`));
        else resolve(JSON.parse(stdout) as Attempt[]);
      },
    );
  });
}

describe('the clusterset simulation harness (stand-in apps)', () => {
  let sim: ClusterSet;
  beforeAll(async () => {
    await assertCanSimulate();
    await downClusterSet({ instance: INSTANCE, stateRoot: STATE_ROOT });
    sim = await upClusterSet({
      instance: INSTANCE,
      stateRoot: STATE_ROOT,
      rttMs: 20,
      jitterMs: 0,
      probe: { periodMs: PROBE_PERIOD_MS },
      // The crashed-pod case needs the dead pod in the ClusterSetIP: no relist during the run.
      kubeletRelistMs: PROBE_PERIOD_MS,
      mcs: { propagationDelayMs: PROPAGATION_MS, leaseMs: LEASE_MS, heartbeatMs: 250 },
      callerEnv: { PRODUCER_TIMEOUT_MS: '600' },
      apps: {
        caller: { cwd: FIXTURES, args: ['stand-in-caller.mjs'] },
        producer: { cwd: FIXTURES, args: ['stand-in-producer.mjs'] },
      },
    });
  }, 90_000);
  afterAll(async () => {
    await downClusterSet({ instance: INSTANCE, stateRoot: STATE_ROOT });
  });

  it('carries calls from the root namespace through gateway, DNS and the ClusterSetIP DNAT to pods of both exporting clusters', async () => {
    const clusters = new Set<string>();
    for (let i = 0; i < 40 && clusters.size < 2; i += 1) {
      const { status, body } = await post(sim.gatewayUrl, { payload: `hi ${i}` });
      expect(status).toBe(200);
      expect(body).toMatchObject({ outcome: 'ok', received: `hi ${i}` });
      clusters.add((body.producerMetadata as { clusterName: string }).clusterName);
    }
    expect([...clusters].sort()).toEqual(['producer-cluster', 'producer-cluster-2']);
    const ruleset = await ip(
      'netns',
      'exec',
      topology.namespaces.cluster1,
      'nft',
      'list',
      'table',
      'ip',
      's2s_clusterset',
    );
    expect(ruleset).toContain(`dnat to numgen random mod 4`);
  });

  it('refuses a connect to a crashed pod before any request byte is written, directly and through the ClusterSetIP', async () => {
    const dead = topology.producerClusters[0]!.replicas[0]!;
    await sim.stop(dead.name, 'SIGKILL');
    // Neither the probes nor the relist have run since (60 s period): the dead pod is still an
    // endpoint, as it is in a real cluster for up to a relist period plus the propagation.
    expect((await sim.mcs.status()).active).toContain(dead.podIp);
    const direct = await connectFromCluster1(dead.podIp, 3, 3000);
    for (const attempt of direct) {
      expect(attempt).toMatchObject({ connected: false, code: 'ECONNREFUSED', bytesWritten: 0 });
    }
    const viaClusterSetIp = await connectFromCluster1(topology.addresses.clusterSetIp, 40, 3000);
    const refused = viaClusterSetIp.filter((attempt) => !attempt.connected);
    const answered = viaClusterSetIp.filter((attempt) => attempt.connected);
    console.log(
      `40 connects to the ClusterSetIP with 1 of 4 endpoints dead: ${refused.length} refused at connect, ${answered.length} answered`,
    );
    // 1 in 4 on average; none at all would have a chance of (3/4)^40 ≈ 1e-5.
    expect(refused.length).toBeGreaterThan(0);
    for (const attempt of refused)
      expect(attempt).toMatchObject({ code: 'ECONNREFUSED', bytesWritten: 0 });
    for (const attempt of answered) expect(attempt).toMatchObject({ code: null, status: 200 });
  });

  it('withdraws a terminating pod after the propagation delay and puts a started one back', async () => {
    const replica = topology.producerClusters[0]!.replicas[0]!;
    await sim.start(replica.name);
    const before = Date.now();
    await sim.stop(replica.name, 'SIGTERM');
    const withdrawnAfter = async () =>
      (await sim.mcs.status()).changes.find(
        (change) => change.at >= before && !change.endpoints.includes(replica.podIp),
      );
    let withdrawn = await withdrawnAfter();
    for (let i = 0; i < 50 && !withdrawn; i += 1) {
      await sleep(100);
      withdrawn = await withdrawnAfter();
    }
    expect(withdrawn).toBeDefined();
    expect(withdrawn!.at - before).toBeGreaterThanOrEqual(PROPAGATION_MS - 20);
    await sim.start(replica.name);
    expect((await sim.endpoints()).filter((endpoint) => endpoint.serving)).toHaveLength(4);
  });

  it("keeps a cluster's endpoints until its lease expires after it stops reporting, then drops them all", async () => {
    const cluster3 = topology.producerClusters[1]!;
    await sim.cluster('cluster-3').stopReporting();
    const stoppedAt = Date.now();
    await sleep(LEASE_MS / 2);
    expect((await sim.mcs.status()).active).toEqual(
      expect.arrayContaining(cluster3.replicas.map((r) => r.podIp)),
    );
    let expired = null as null | number;
    while (Date.now() - stoppedAt < LEASE_MS + PROPAGATION_MS + 5000) {
      const status = await sim.mcs.status();
      if (status.clusters.find((c) => c.cluster === 'cluster-3')?.expired) {
        expired = Date.now();
        expect(
          status.active.some((address) => cluster3.replicas.some((r) => r.podIp === address)),
        ).toBe(false);
        break;
      }
      await sleep(100);
    }
    expect(expired).not.toBeNull();
    // The lease runs from the last applied report, which can be up to a heartbeat plus the
    // propagation delay older than the moment reporting stopped.
    expect(expired! - stoppedAt).toBeGreaterThanOrEqual(LEASE_MS - 250 - PROPAGATION_MS);
    // Calls still succeed: cluster-2 carries them.
    expect((await post(sim.gatewayUrl, { payload: 'cluster-3 lost' })).body.outcome).toBe('ok');
    await sim.cluster('cluster-3').resumeReporting();
    await sleep(PROPAGATION_MS + 500);
    expect((await sim.mcs.status()).active).toHaveLength(4);
  });

  it('cuts a link at packet level: a blackhole makes connects time out, reset makes them refused', async () => {
    const pod = topology.producerClusters[0]!.replicas[1]!.podIp;
    await sim.cluster('cluster-2').link.cut('blackhole');
    try {
      const [blackholed] = await connectFromCluster1(pod, 1, 1500);
      expect(blackholed).toMatchObject({ connected: false, code: 'CONNECT_TIMEOUT' });
      await sim.cluster('cluster-2').link.cut('reset');
      const [reset] = await connectFromCluster1(pod, 1, 1500);
      expect(reset).toMatchObject({ connected: false, code: 'ECONNREFUSED', bytesWritten: 0 });
      // cluster-3 is not behind that link.
      const [other] = await connectFromCluster1(
        topology.producerClusters[1]!.replicas[0]!.podIp,
        1,
        1500,
      );
      expect(other).toMatchObject({ connected: true, status: 200 });
    } finally {
      await sim.cluster('cluster-2').link.heal();
    }
    const [healed] = await connectFromCluster1(pod, 1, 1500);
    expect(healed).toMatchObject({ connected: true, status: 200 });
  });

  it('delays packets by the link RTT in the TUN delayer, and by the new RTT after slowing it', async () => {
    const pod = topology.producerClusters[1]!.replicas[0]!.podIp;
    const fast = await connectFromCluster1(pod, 3, 3000);
    await sim.cluster('cluster-3').link.shape({ rttMs: 300 });
    await sleep(300); // the delayer re-reads its shape file every 100 ms
    const slow = await connectFromCluster1(pod, 3, 5000);
    await sim.cluster('cluster-3').link.shape({ rttMs: 20 });
    const median = (attempts: Attempt[]) =>
      attempts.map((a) => a.elapsedMs).sort((x, y) => x - y)[1]!;
    console.log(
      `connect + GET /readyz: ${median(fast)} ms at 20 ms RTT, ${median(slow)} ms at 300 ms RTT`,
    );
    // Two round trips (handshake, request/answer): at least 2 × 300 ms, and clearly above the fast link.
    expect(median(slow)).toBeGreaterThanOrEqual(590);
    expect(median(slow)).toBeGreaterThan(median(fast) + 400);
  });

  it('refuses to bring the same instance up twice', async () => {
    await expect(upClusterSet({ instance: INSTANCE, stateRoot: STATE_ROOT })).rejects.toThrow(
      /already up/,
    );
  });

  it('refuses a kubeletRelistMs that is not a whole number of milliseconds ≥ 10, naming it, before making anything', async () => {
    const stateRoot = fs.mkdtempSync(path.join(os.tmpdir(), 's2s-sim-relist-'));
    try {
      for (const kubeletRelistMs of [0, 9, 1.5, Number.NaN]) {
        await expect(upClusterSet({ instance: 3, stateRoot, kubeletRelistMs })).rejects.toThrow(
          /^kubeletRelistMs must be a whole number of milliseconds ≥ 10, got/,
        );
      }
      expect(fs.readdirSync(stateRoot)).toEqual([]);
    } finally {
      fs.rmSync(stateRoot, { recursive: true, force: true });
    }
  });

  it('removes every namespace, link, process and file on down, also after a process crashed', async () => {
    const pids = sim.processes().map((process) => process.pid!);
    expect(pids.every((pid) => isAlive(pid))).toBe(true);
    process.kill(sim.pid('mcs-importer')!, 'SIGKILL');
    const removed = await downClusterSet({ instance: INSTANCE, stateRoot: STATE_ROOT });
    expect(removed).toContain(`netns ${topology.namespaces.cluster2}`);
    expect(pids.filter((pid) => isAlive(pid))).toEqual([]);
    const namespaces = await ip('netns', 'list');
    for (const name of Object.values(topology.namespaces)) expect(namespaces).not.toContain(name);
    await expect(ip('link', 'show', topology.veths.host.hostSide)).rejects.toThrow();
    expect(fs.existsSync(`/etc/netns/${topology.namespaces.cluster1}`)).toBe(false);
    expect(fs.existsSync(path.join(STATE_ROOT, String(INSTANCE)))).toBe(false);
    // Nothing left: a second down has nothing to do.
    expect(await downClusterSet({ instance: INSTANCE, stateRoot: STATE_ROOT })).toEqual([]);
  });
});
