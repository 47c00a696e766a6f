import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { PRODUCER_CLUSTER, PRODUCER_CLUSTER_2 } from '@s2s/clusterset-sim';
import type { ClusterSet } from '@s2s/clusterset-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callThroughGateway, getThroughGateway } from '../src/gateway-client.js';
import { startSimulation, stopSimulation } from '../src/simulation.js';

const PRODUCER_TIMEOUT_MS = 800;
const FAILURE_THRESHOLD = 3;
const BREAKER_RESET_MS = 4000;

describe('a partition between cluster-1 and every exporting cluster', () => {
  let sim: ClusterSet;
  beforeAll(async () => {
    sim = await startSimulation({
      callerEnv: {
        PRODUCER_TIMEOUT_MS: String(PRODUCER_TIMEOUT_MS),
        BREAKER_FAILURE_THRESHOLD: String(FAILURE_THRESHOLD),
        BREAKER_RESET_MS: String(BREAKER_RESET_MS),
      },
    });
  });
  afterAll(async () => {
    await stopSimulation('partition');
  });

  it('times calls out, opens the breaker after the configured failures, fails fast while the caller stays live and ready, and closes it with one trial call after healing', async () => {
    const before = await callThroughGateway(sim.gatewayUrl, { payload: 'before the cut' });
    expect(before.envelope.outcome).toBe('ok');

    await sim.link.cut('blackhole');
    for (let i = 1; i <= FAILURE_THRESHOLD; i += 1) {
      const { status, envelope, elapsedMs } = await callThroughGateway(sim.gatewayUrl, {
        payload: `cut ${i}`,
      });
      expect(envelope.outcome).toBe('timeout');
      expect(status).toBe(504);
      expect(elapsedMs).toBeGreaterThanOrEqual(PRODUCER_TIMEOUT_MS - 50);
      expect(elapsedMs).toBeLessThan(PRODUCER_TIMEOUT_MS + 3000);
      expect(envelope.breaker.state).toBe(i < FAILURE_THRESHOLD ? 'closed' : 'open');
    }
    const openedAt = performance.now();

    const fast = await callThroughGateway(sim.gatewayUrl, { payload: 'while open' });
    expect(fast.status).toBe(503);
    expect(fast.envelope.outcome).toBe('circuit_open');
    // No request is sent: far below the timeout (generous for a busy machine).
    expect(fast.elapsedMs).toBeLessThan(PRODUCER_TIMEOUT_MS);
    // A cross-cluster outage never takes the caller out of rotation.
    expect((await getThroughGateway(sim.gatewayUrl, '/livez')).status).toBe(200);
    expect((await getThroughGateway(sim.gatewayUrl, '/readyz')).status).toBe(200);

    await sim.link.heal();
    // Still open until the reset time has passed: every call before then fails fast.
    let trial: Awaited<ReturnType<typeof callThroughGateway>> | null = null;
    const deadline = openedAt + BREAKER_RESET_MS + 15_000;
    while (performance.now() < deadline) {
      const answer = await callThroughGateway(sim.gatewayUrl, { payload: 'after heal' });
      if (answer.envelope.outcome !== 'circuit_open') {
        trial = answer;
        break;
      }
      await sleep(250);
    }
    const closedAfterMs = performance.now() - openedAt;
    expect(trial?.envelope.outcome).toBe('ok');
    expect(trial?.envelope.breaker.state).toBe('closed');
    expect(closedAfterMs).toBeGreaterThanOrEqual(BREAKER_RESET_MS - 250);
    console.log(
      `breaker opened after ${FAILURE_THRESHOLD} timeouts; first call through again ${closedAfterMs.toFixed(0)} ms later (reset ${BREAKER_RESET_MS} ms)`,
    );

    const after = await callThroughGateway(sim.gatewayUrl, { payload: 'healed' });
    expect(after.envelope.outcome).toBe('ok');
    expect([PRODUCER_CLUSTER.name, PRODUCER_CLUSTER_2.name]).toContain(
      after.envelope.producerMetadata?.clusterName,
    );
  });

  it('turns a link that resets connections into unreachable answers, not hangs', async () => {
    await sim.link.cut('reset');
    try {
      const { status, envelope, elapsedMs } = await callThroughGateway(sim.gatewayUrl, {
        payload: 'reset',
      });
      expect(envelope.outcome).toBe('unreachable');
      expect(status).toBe(502);
      expect(elapsedMs).toBeLessThan(PRODUCER_TIMEOUT_MS);
    } finally {
      await sim.link.heal();
    }
  });
});
