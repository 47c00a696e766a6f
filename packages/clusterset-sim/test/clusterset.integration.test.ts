/**
 * The harness itself, with tiny stand-in apps (test/fixtures) instead of the real ones, so it
 * is tested even when the apps are broken. Needs root and `ip netns`: without them this file
 * fails loudly (assertCanSimulate), it never passes silently.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as ClusterSetModule from '../src/clusterset.js';
import type { ClusterSet } from '../src/clusterset.js';
import type * as SystemModule from '../src/system.js';
import type * as TopologyModule from '../src/topology.js';

// The built harness, because it starts its helper processes from dist/ (`test` runs after
// `build`); loaded by path so that typechecking does not need dist/.
const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist');
const { assertCanSimulate, downClusterSet, upClusterSet } = (await import(
  path.join(DIST, 'clusterset.js')
)) as typeof ClusterSetModule;
const { ip, isAlive } = (await import(path.join(DIST, 'system.js'))) as typeof SystemModule;
const { topologyFor } = (await import(path.join(DIST, 'topology.js'))) as typeof TopologyModule;

// Instance 2: apart from a person's instance 0 and the e2e suite's instance 1.
const INSTANCE = 2;
const STATE_ROOT = '/run/s2s-sim-harness-test';
const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const topology = topologyFor(INSTANCE);

async function post(url: string, body: unknown) {
  const response = await fetch(`${url}/caller/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
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
      callerEnv: { PRODUCER_TIMEOUT_MS: '600' },
      apps: {
        caller: { cwd: FIXTURES, args: ['stand-in-caller.mjs'] },
        producer: { cwd: FIXTURES, args: ['stand-in-producer.mjs'] },
      },
    });
  }, 60_000);
  afterAll(async () => {
    await downClusterSet({ instance: INSTANCE, stateRoot: STATE_ROOT });
  });

  it('carries a call from the root namespace through gateway, DNS, link and balancer to a producer in cluster-2', async () => {
    const { status, body } = await post(sim.gatewayUrl, { payload: 'hi' });
    expect(status).toBe(200);
    expect(body).toMatchObject({ outcome: 'ok', received: 'hi' });
    expect(body.producerMetadata).toMatchObject({ clusterName: 'producer-cluster' });
    expect((body.producerMetadata as { podIp: string }).podIp).toMatch(/^198\.18\.38\.1[12]$/);
    expect((await sim.link.status()).connectionsTotal).toBeGreaterThan(0);
  });

  it('times the call out while the link is cut and carries it again after healing', async () => {
    await sim.link.cut();
    expect((await post(sim.gatewayUrl, { payload: 'cut' })).body.outcome).toBe('timeout');
    await sim.link.heal();
    expect((await post(sim.gatewayUrl, { payload: 'healed' })).body.outcome).toBe('ok');
  });

  it('refuses to bring the same instance up twice', async () => {
    await expect(upClusterSet({ instance: INSTANCE, stateRoot: STATE_ROOT })).rejects.toThrow(
      /already up/,
    );
  });

  it('removes every namespace, link, process and file on down, also after a process crashed', async () => {
    const pids = sim.processes().map((process) => process.pid!);
    expect(pids.every((pid) => isAlive(pid))).toBe(true);
    process.kill(sim.pid('balancer')!, 'SIGKILL');
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
