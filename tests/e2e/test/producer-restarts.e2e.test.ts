import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterSet } from '@s2s/clusterset-sim';
import { runLoad } from '@s2s/loadtest';
import type { LoadReport } from '@s2s/loadtest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactsDir, startSimulation, stopSimulation } from '../src/simulation.js';

const RATE = 100;
// The balancer takes a replica out after 2 failed probes 250 ms apart; the producer keeps
// serving for SHUTDOWN_DELAY_MS after SIGTERM, comfortably longer than that.
const PROBE_INTERVAL_MS = 250;
const PROBE_FAILURES = 2;
const SHUTDOWN_DELAY_MS = 1500;
const BREAKER_RESET_MS = 5000;

function saveReport(name: string, report: LoadReport): void {
  fs.writeFileSync(path.join(artifactsDir(), `${name}.json`), JSON.stringify(report, null, 2));
}

function failures(report: LoadReport): Record<string, number> {
  return Object.fromEntries(
    Object.entries(report.statusCounts).filter(([status]) => status !== '200'),
  );
}

describe('producer replicas restarting under 100 calls/s through the gateway', () => {
  let sim: ClusterSet;
  beforeAll(async () => {
    expect(SHUTDOWN_DELAY_MS).toBeGreaterThanOrEqual(PROBE_INTERVAL_MS * PROBE_FAILURES * 2);
    sim = await startSimulation({
      balancer: { probeIntervalMs: PROBE_INTERVAL_MS, failureThreshold: PROBE_FAILURES },
      producerEnv: { SHUTDOWN_DELAY_MS: String(SHUTDOWN_DELAY_MS), LOG_LEVEL: 'warn' },
      callerEnv: { BREAKER_RESET_MS: String(BREAKER_RESET_MS), LOG_LEVEL: 'warn' },
    });
  });
  afterAll(async () => {
    await stopSimulation('producer-restarts');
  });

  it('loses no call while the replicas are restarted one at a time (SIGTERM, graceful shutdown, start)', async () => {
    const stop = new AbortController();
    const loadStarted = performance.now();
    const load = runLoad({
      url: `${sim.gatewayUrl}/caller/messages`,
      rate: RATE,
      durationMs: 60_000, // upper bound; stopped as soon as both restarts are done
      connections: 64,
      graceMs: 8000,
      signal: stop.signal,
    });
    const steps: string[] = [];
    try {
      await sleep(2000);
      for (const replica of ['producer-a', 'producer-b'] as const) {
        const exitedAfterMs = await sim.stop(replica, 'SIGTERM', 20_000);
        const started = performance.now();
        await sim.start(replica, 30_000);
        steps.push(
          `${replica}: exited ${exitedAfterMs} ms after SIGTERM, ready again after ${(performance.now() - started).toFixed(0)} ms`,
        );
        await sleep(1500); // let it take connections before the next one goes
      }
      await sleep(1000);
    } finally {
      stop.abort();
    }
    const scheduledForMs = performance.now() - loadStarted;
    const report = await load;
    saveReport('rolling-restart-load', report);
    console.log(
      `rolling restart: ${report.requests} calls scheduled over ${(scheduledForMs / 1000).toFixed(1)} s (${((report.requests * 1000) / scheduledForMs).toFixed(1)}/s), statuses ${JSON.stringify(report.statusCounts)}, outcomes ${JSON.stringify(report.outcomeCounts)}, p99 ${report.latencyMs.p99.toFixed(0)} ms\n  ${steps.join('\n  ')}`,
    );
    expect(report.requests).toBeGreaterThan(RATE * 5);
    expect(failures(report)).toEqual({});
    expect(report.outcomeCounts).toEqual({ ok: report.requests });
    // Both replicas came back and are in rotation again.
    expect((await sim.endpoints()).map((endpoint) => endpoint.ready)).toEqual([true, true]);
  });

  it('recovers within the breaker reset window after one replica is SIGKILLed', async () => {
    const stop = new AbortController();
    const loadStarted = performance.now();
    const load = runLoad({
      url: `${sim.gatewayUrl}/caller/messages`,
      rate: RATE,
      durationMs: 14_000,
      connections: 64,
      graceMs: 8000,
      signal: stop.signal,
    });
    await sleep(3000);
    const killedAtMs = performance.now() - loadStarted;
    await sim.stop('producer-a', 'SIGKILL', 5000);
    const report = await load;
    saveReport('sigkill-load', report);
    const errorSeconds = report.timeseries
      .filter((sample) => sample.errors > 0)
      .map((sample) => sample.second);
    const lastErrorSecond = errorSeconds.length > 0 ? Math.max(...errorSeconds) : null;
    const recoveredWithinMs =
      lastErrorSecond === null ? 0 : (lastErrorSecond + 1) * 1000 - killedAtMs;
    console.log(
      `SIGKILL of producer-a at ${killedAtMs.toFixed(0)} ms: ${report.errorCount} of ${report.requests} calls failed (${JSON.stringify(report.outcomeCounts)}); errors in seconds [${errorSeconds.join(', ')}]; recovered within ${recoveredWithinMs.toFixed(0)} ms`,
    );
    // Every failure lies within the breaker's reset window after the kill (plus the balancer's
    // detection time and a second of slack for the per-second buckets), and the end is clean.
    expect(recoveredWithinMs).toBeLessThanOrEqual(
      BREAKER_RESET_MS + PROBE_INTERVAL_MS * (PROBE_FAILURES + 1) + 2000,
    );
    const lastSeconds = report.timeseries.slice(-3);
    expect(lastSeconds.every((sample) => sample.errors === 0)).toBe(true);
    expect((await sim.endpoints()).map((endpoint) => endpoint.ready)).toEqual([false, true]);
    await sim.start('producer-a');
  });
});
