import { afterEach, describe, expect, it } from 'vitest';
import { readEnvelope } from '../src/envelope.js';
import { runLoad } from '../src/run-load.js';
import { envelope, sendJson, startStub, type StubServer } from './stub-server.js';

let stub: StubServer | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

/** The caller's answers by arrival number: a breaker that opens after three timeouts. */
function scripted(
  arrival: number,
): { status: number; outcome: string; state: string } | 'plain-text' {
  if (arrival <= 40) return { status: 200, outcome: 'ok', state: 'closed' };
  if (arrival <= 42) return { status: 504, outcome: 'timeout', state: 'closed' };
  if (arrival === 43) return { status: 504, outcome: 'timeout', state: 'open' };
  if (arrival <= 70) return { status: 503, outcome: 'circuit_open', state: 'open' };
  if (arrival <= 71) return { status: 502, outcome: 'upstream_error', state: 'half_open' };
  if (arrival <= 72) return { status: 504, outcome: 'timeout', state: 'open' };
  if (arrival <= 99) return { status: 200, outcome: 'ok', state: 'closed' };
  return 'plain-text';
}

describe('envelope-aware counting', () => {
  it('counts statuses, outcomes and breaker transitions exactly as the caller scripted them', async () => {
    stub = await startStub((_req, res, arrival) => {
      const answer = scripted(arrival);
      if (answer === 'plain-text') {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('upstream connect error');
        return;
      }
      sendJson(res, answer.status, envelope(answer.outcome, answer.state));
    });
    // One connection keeps the answers in the order the stub scripted them.
    const report = await runLoad({ url: stub.url, rate: 100, durationMs: 1000, connections: 1 });

    expect(report.requests).toBe(100);
    expect(report.statusCounts).toEqual({ '200': 67, '500': 1, '502': 1, '503': 27, '504': 4 });
    expect(report.outcomeCounts).toEqual({
      ok: 67,
      timeout: 4,
      circuit_open: 27,
      upstream_error: 1,
      invalid: 1,
    });
    expect(report.envelopeBreakerTransitions.map(({ from, to }) => `${from}->${to}`)).toEqual([
      'closed->open',
      'open->half_open',
      'half_open->open',
      'open->closed',
    ]);
    const times = report.envelopeBreakerTransitions.map((t) => t.atMs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // Arrival 43 is scheduled at 420 ms, arrival 73 at 720 ms.
    expect(times[0]).toBeGreaterThanOrEqual(420);
    expect(times[3]).toBeGreaterThanOrEqual(720);
    expect(report.breakerStates).toEqual({ first: 'closed', last: 'closed' });
    expect(report.errorCount).toBe(33);
  });

  it('splits requests, outcomes and latency by the producer cluster and pod that answered', async () => {
    stub = await startStub((_req, res, arrival) => {
      if (arrival % 5 === 0) sendJson(res, 503, envelope('circuit_open', 'open'));
      else if (arrival % 2 === 0)
        sendJson(res, 200, envelope('ok', 'closed', 'x', { cluster: 'cluster-2', pod: 'p-b' }));
      else {
        const slow = arrival % 3 === 0;
        setTimeout(
          () =>
            sendJson(
              res,
              slow ? 502 : 200,
              envelope(slow ? 'upstream_error' : 'ok', 'closed', 'x', {
                cluster: 'cluster-1',
                pod: 'p-a',
              }),
            ),
          30,
        );
      }
    });
    // Many connections: a slow answer must not hold up the fast ones behind it.
    const report = await runLoad({ url: stub.url, rate: 100, durationMs: 1000, connections: 32 });

    // Arrivals 1..100: every 5th circuit_open (20); of the rest, even ones cluster-2 (40), odd
    // ones cluster-1 (40), of which the multiples of 3 upstream_error (14: 3, 9, …, 99 minus 15, 45, 75).
    expect(report.byProducer.map((p) => [p.cluster, p.pod, p.requests, p.outcomeCounts])).toEqual([
      ['cluster-1', 'p-a', 40, { ok: 26, upstream_error: 14 }],
      ['cluster-2', 'p-b', 40, { ok: 40 }],
      [null, null, 20, { circuit_open: 20 }],
    ]);
    const [one, two] = report.byProducer;
    // cluster-1 answers after 30 ms, cluster-2 at once: the split shows it.
    expect(one!.latencyMs.p50).toBeGreaterThanOrEqual(29);
    expect(two!.latencyMs.p50).toBeLessThan(one!.latencyMs.p50);
  });

  it('sends the fault knobs and a unique id in every body', async () => {
    const bodies: Record<string, unknown>[] = [];
    stub = await startStub((req, res, _arrival, body) => {
      bodies.push({
        ...(JSON.parse(body) as Record<string, unknown>),
        path: req.url,
        type: req.headers['content-type'],
      });
      sendJson(res, 200, envelope('ok', 'closed'));
    });
    await runLoad({
      url: stub.url + '/caller/messages',
      rate: 100,
      durationMs: 300,
      delayMs: 250,
      responseCode: 503,
    });

    expect(bodies).toHaveLength(30);
    expect(new Set(bodies.map((b) => b.id)).size).toBe(30);
    for (const body of bodies) {
      expect(body).toMatchObject({
        payload: 's2s-loadtest',
        delay: 250,
        responseCode: 503,
        path: '/caller/messages',
      });
      expect(body.type).toBe('application/json');
      expect(body.id).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
    }
  });

  it('reads envelopes and treats anything else as invalid', () => {
    expect(readEnvelope(JSON.stringify(envelope('timeout', 'open')))).toEqual({
      outcome: 'timeout',
      breakerState: 'open',
      producerCluster: null,
      producerPod: null,
    });
    expect(
      readEnvelope(
        JSON.stringify({
          ...envelope('ok', 'closed'),
          producerMetadata: { clusterName: 'producer-cluster', podName: 'sample-producer-7c9f' },
        }),
      ),
    ).toMatchObject({ producerCluster: 'producer-cluster', producerPod: 'sample-producer-7c9f' });
    expect(readEnvelope('{"outcome":"ok","breaker":{"state":"weird"}}')).toEqual({
      outcome: 'ok',
      breakerState: null,
      producerCluster: null,
      producerPod: null,
    });
    expect(readEnvelope('{"outcome":"ok","producerMetadata":{"clusterName":7}}')).toMatchObject({
      producerCluster: null,
      producerPod: null,
    });
    expect(readEnvelope('{"type":"about:blank","title":"Bad Request","status":400}').outcome).toBe(
      'invalid',
    );
    expect(readEnvelope('<html>')).toMatchObject({ outcome: 'invalid', breakerState: null });
    expect(readEnvelope('{broken')).toMatchObject({ outcome: 'invalid', breakerState: null });
    expect(readEnvelope(null).outcome).toBe('invalid');
  });
});
