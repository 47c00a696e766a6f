import { afterEach, describe, expect, it } from 'vitest';
import { runLoad } from '../src/run-load.js';
import { envelope, sendJson, startStub, type StubServer } from './stub-server.js';

let stub: StubServer | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

describe('open-model load generation', () => {
  it('reports a p50 close to a fixed 20 ms server latency and sends rate × duration requests', async () => {
    stub = await startStub((_req, res) => {
      setTimeout(() => sendJson(res, 200, envelope('ok', 'closed')), 20);
    });
    const report = await runLoad({
      url: `${stub.url}/caller/messages`,
      rate: 100,
      durationMs: 3000,
    });

    expect(report.requests).toBe(300);
    expect(report.completed).toBeGreaterThanOrEqual(297);
    expect(stub.received()).toBe(300);
    // Generous bounds: a 2-core machine shared with other work adds scheduling noise.
    expect(report.latencyMs.p50).toBeGreaterThanOrEqual(18);
    expect(report.latencyMs.p50).toBeLessThanOrEqual(35);
    expect(report.latencyMs.min).toBeGreaterThanOrEqual(19);
    expect(report.rate).toBeGreaterThan(90);
    expect(report.rate).toBeLessThanOrEqual(101);
    expect(report.statusCounts).toEqual({ '200': report.completed });
    expect(report.outcomeCounts.ok).toBe(report.completed);
    expect(report.timeseries.slice(0, 3).map((s) => s.scheduled)).toEqual([100, 100, 100]);
  });

  it('leaves warm-up requests out of the results but still sends them', async () => {
    stub = await startStub((_req, res) => sendJson(res, 200, envelope('ok', 'closed')));
    const report = await runLoad({ url: stub.url, rate: 100, durationMs: 1000, warmupMs: 500 });

    expect(report.requests).toBe(100);
    expect(stub.received()).toBe(150);
    expect(report.warmupMs).toBe(500);
    expect(report.outcomeCounts.ok).toBe(100);
  });

  it('counts a one-second stall in every request scheduled during it (coordinated omission corrected), which a closed-loop measurement hides', async () => {
    const stallAtArrival = 400; // 2 s into a 200/s run
    let stallUntil = 0;
    stub = await startStub((_req, res, arrival) => {
      const now = Date.now();
      if (arrival === stallAtArrival) stallUntil = now + 1000;
      const wait = stallUntil - now;
      if (wait > 0) setTimeout(() => sendJson(res, 200, envelope('ok', 'closed')), wait);
      else sendJson(res, 200, envelope('ok', 'closed'));
    });
    // One connection, like a closed-loop tool's fixed connection: while the stalled request
    // holds it, the requests that fall due wait in the queue and never reach the server.
    const report = await runLoad({ url: stub.url, rate: 200, durationMs: 5000, connections: 1 });

    expect(report.requests).toBe(1000);
    expect(report.cancelled).toBe(0);
    // About 200 of 1000 requests were due during the stall and waited up to 1 s each: the
    // corrected p99 lands deep inside the stall.
    expect(report.latencyMs.p99).toBeGreaterThanOrEqual(500);
    expect(report.latencyMs.max).toBeGreaterThanOrEqual(900);
    expect(report.latencyMs.p90).toBeGreaterThanOrEqual(100);
    // The same run measured from the moment each request was written to the socket (what wrk or
    // autocannon report): only the one stalled request is slow, so p99 shows nothing.
    expect(report.serviceTimeMs.max).toBeGreaterThanOrEqual(900);
    expect(report.serviceTimeMs.p99).toBeLessThan(250);
    expect(report.serviceTimeMs.p99 * 3).toBeLessThan(report.latencyMs.p99);
    // The stall shows in the per-second series where it happened (second 2), not elsewhere.
    const worst = report.timeseries.reduce((a, b) =>
      (b.latencyMs?.p99 ?? 0) > (a.latencyMs?.p99 ?? 0) ? b : a,
    );
    expect([1, 2, 3]).toContain(worst.second);
  });

  it('stops at the end of the grace period and counts unanswered requests as cancelled', async () => {
    stub = await startStub((_req, res, arrival) => {
      if (arrival % 10 !== 0) sendJson(res, 200, envelope('ok', 'closed'));
      // Every tenth request never gets an answer.
    });
    const started = Date.now();
    const report = await runLoad({ url: stub.url, rate: 100, durationMs: 1000, graceMs: 300 });
    const tookMs = Date.now() - started;

    expect(report.requests).toBe(100);
    expect(report.cancelled).toBe(10);
    expect(report.statusCounts).toEqual({ '200': 90, cancelled: 10 });
    expect(report.outcomeCounts).toEqual({ ok: 90, cancelled: 10 });
    expect(report.errorCount).toBe(10);
    // The cancelled requests waited at least the grace period: their latency is counted.
    expect(report.latencyMs.max).toBeGreaterThanOrEqual(300);
    expect(tookMs).toBeLessThan(1000 + 300 + 2000);
  });

  it('counts connection failures as errors without an answer', async () => {
    stub = await startStub((_req, res) => sendJson(res, 200, envelope('ok', 'closed')));
    const url = stub.url;
    await stub.close();
    stub = undefined;
    const report = await runLoad({ url, rate: 50, durationMs: 500, graceMs: 1000 });

    expect(report.requests).toBe(25);
    expect(report.statusCounts).toEqual({ error: 25 });
    expect(report.outcomeCounts).toEqual({ error: 25 });
    expect(report.errors).toEqual({ ECONNREFUSED: 25 });
    expect(report.errorRatio).toBe(1);
  });
});

describe('stopping early', () => {
  it('stops scheduling when aborted and reports only what was scheduled', async () => {
    stub = await startStub((_req, res) => sendJson(res, 200, envelope('ok', 'closed')));
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 500);
    const started = Date.now();
    const report = await runLoad({
      url: stub.url,
      rate: 100,
      durationMs: 10_000,
      signal: stop.signal,
    });

    expect(Date.now() - started).toBeLessThan(3000);
    expect(report.requests).toBeGreaterThan(20);
    expect(report.requests).toBeLessThan(150);
    expect(report.durationMs).toBeLessThan(2000);
    expect(report.outcomeCounts.ok).toBe(report.requests);
    expect(report.rate).toBeGreaterThan(50);
  });
});
