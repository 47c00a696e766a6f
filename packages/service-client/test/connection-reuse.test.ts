// maxRequestsPerConnection: behind an L4 balancer that picks an endpoint per new connection (a
// ClusterSetIP), a steady caller's busy socket stays on one endpoint; a limit makes the client close
// each socket after N calls, cleanly (`connection: close` on the last one), so the next call opens
// a new connection and the balancer picks again.
import { afterEach, describe, expect, it } from 'vitest';
import { createServiceClient } from '../src/index.js';
import type { ServiceClient } from '../src/index.js';
import { json, readBody, rotatingConnector, startTestServer } from './test-server.js';
import type { TestServer } from './test-server.js';

const ORIGIN = 'http://sample-producer.istio-apps.svc.clusterset.local:8080';

interface Seen {
  server: number;
  prior: number;
  connection: string | undefined;
}

let servers: TestServer[] = [];
let client: ServiceClient | undefined;

afterEach(async () => {
  await client?.close();
  client = undefined;
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
});

/** Two endpoints that record, per request, which one answered and what came on its socket. */
async function twoEndpoints(seen: Seen[]): Promise<TestServer[]> {
  const start = (index: number) =>
    startTestServer((req, res, server) => {
      void readBody(req).then(() => {
        seen.push({
          server: index,
          prior: server.priorRequestsOn(req),
          connection: req.headers.connection,
        });
        json(res, 200, { replica: `replica-${index}` });
      });
    });
  return [await start(0), await start(1)];
}

/** The client under test, behind a round-robin balancer in front of two endpoints. */
async function clientOverTwoEndpoints(seen: Seen[], maxRequestsPerConnection?: number) {
  servers = await twoEndpoints(seen);
  const connector = rotatingConnector(() => servers.map((s) => s.port), 'round-robin');
  client = createServiceClient({
    origin: ORIGIN,
    connect: connector.connect,
    ...(maxRequestsPerConnection === undefined ? {} : { maxRequestsPerConnection }),
  });
}

async function callsInARow(count: number): Promise<string[]> {
  const outcomes: string[] = [];
  for (let i = 0; i < count; i++) {
    const result = await client!.call({ path: '/producer/messages', json: { id: `c${i}` } });
    outcomes.push(result.outcome);
  }
  return outcomes;
}

describe('maxRequestsPerConnection', () => {
  it('by default, calls one after another stay on the sockets the first calls opened', async () => {
    const seen: Seen[] = [];
    await clientOverTwoEndpoints(seen);

    expect(await callsInARow(30)).toEqual(Array(30).fill('ok'));
    // undici's pool may take a second socket while the first finishes its answer, never more
    // for calls one after another; then they only reuse them.
    const accepted = servers.reduce((sum, s) => sum + s.accepted(), 0);
    expect(accepted).toBeGreaterThanOrEqual(1);
    expect(accepted).toBeLessThanOrEqual(2);
    expect(seen.slice(2).every((s) => s.prior > 0)).toBe(true);
    expect(seen.every((s) => s.connection === 'keep-alive')).toBe(true);
  });

  it('with 10, closes each socket after its 10th call, so calls reach both endpoints and none fails', async () => {
    const seen: Seen[] = [];
    await clientOverTwoEndpoints(seen, 10);

    expect(await callsInARow(60)).toEqual(Array(60).fill('ok'));
    // At most 10 calls per socket; the 10th says `connection: close`, every other keep-alive.
    expect(Math.max(...seen.map((s) => s.prior))).toBe(9);
    for (const s of seen) expect(s.connection).toBe(s.prior === 9 ? 'close' : 'keep-alive');
    const closedBySender = seen.filter((s) => s.prior === 9).length;
    expect(closedBySender).toBeGreaterThanOrEqual(4);
    // New connections, so the balancer picked again: both endpoints served calls.
    expect(new Set(seen.map((s) => s.server))).toEqual(new Set([0, 1]));
    expect(servers.every((s) => s.requests() >= 10)).toBe(true);
    // Each socket that carried its 10th call was ended after the answer.
    await expect
      .poll(() => servers.reduce((sum, s) => sum + s.accepted() - s.open(), 0))
      .toBe(closedBySender);
  });

  it('applies to calls in flight at once too: 40 waves of 4 calls, no socket carries more than 10', async () => {
    const seen: Seen[] = [];
    await clientOverTwoEndpoints(seen, 10);

    for (let wave = 0; wave < 40; wave++) {
      const results = await Promise.all(
        Array.from({ length: 4 }, (_, i) =>
          client!.call({ path: '/producer/messages', json: { id: `w${wave}-${i}` } }),
        ),
      );
      expect(results.map((r) => r.outcome)).toEqual(['ok', 'ok', 'ok', 'ok']);
    }
    expect(seen).toHaveLength(160);
    // Without a limit the few sockets 4 calls at a time need would carry 20 or more calls each.
    expect(Math.max(...seen.map((s) => s.prior))).toBeLessThanOrEqual(9);
    for (const s of seen) expect(s.connection).toBe(s.prior === 9 ? 'close' : 'keep-alive');
    expect(seen.filter((s) => s.connection === 'close').length).toBeGreaterThanOrEqual(4);
  });

  it.each([[-1], [1.5], [Number.NaN]])('rejects %s with a TypeError naming the option', (value) => {
    expect(() => createServiceClient({ origin: ORIGIN, maxRequestsPerConnection: value })).toThrow(
      /maxRequestsPerConnection/,
    );
  });
});
