import { afterEach, describe, expect, it } from 'vitest';
import { createServiceClient } from '../src/index.js';
import type { BreakerTransition, ServiceClient } from '../src/index.js';
import { freePort } from '@s2s/test-support/free-port';
import { json, startTestServer } from './test-server.js';
import type { TestServer } from './test-server.js';

let server: TestServer;
let client: ServiceClient;

afterEach(async () => {
  await client?.close();
  await server?.close();
});

function recordTransitions(c: ServiceClient): BreakerTransition[] {
  const seen: BreakerTransition[] = [];
  c.on('breakerTransition', (t) => seen.push(t));
  return seen;
}

function nextTransition(c: ServiceClient, to: BreakerTransition['to']): Promise<BreakerTransition> {
  return new Promise((resolve) => {
    const listener = (t: BreakerTransition): void => {
      if (t.to !== to) return;
      c.off('breakerTransition', listener);
      resolve(t);
    };
    c.on('breakerTransition', listener);
  });
}

describe('circuit breaker', () => {
  it('opens after 3 consecutive 5xx and then rejects at once without a request', async () => {
    server = await startTestServer((_req, res) => json(res, 503, { error: 'down' }));
    client = createServiceClient({
      origin: `http://127.0.0.1:${server.port}`,
      upstreamName: 'producer',
    });
    const transitions = recordTransitions(client);

    const first = await client.call({ path: '/x' });
    const second = await client.call({ path: '/x' });
    expect([first.breakerState, second.breakerState]).toEqual(['closed', 'closed']);
    const third = await client.call({ path: '/x' });

    expect(third.outcome).toBe('upstream_error');
    expect(third.statusCode).toBe(503);
    expect(third.breakerState).toBe('open');
    expect(transitions).toMatchObject([{ upstream: 'producer', from: 'closed', to: 'open' }]);

    const rejected = await client.call({ path: '/x' });
    expect(rejected).toMatchObject({
      outcome: 'circuit_open',
      statusCode: null,
      errorCode: 'EOPENBREAKER',
      breakerState: 'open',
    });
    expect(server.requests()).toBe(3);
  });

  it('never opens on 4xx, and a 4xx resets the consecutive count', async () => {
    const statuses = [404, 404, 404, 404, 404, 500, 500, 400, 500, 500, 422, 500, 500];
    server = await startTestServer((_req, res) => json(res, statuses.shift() ?? 200, {}));
    client = createServiceClient({ origin: `http://127.0.0.1:${server.port}` });
    const transitions = recordTransitions(client);

    for (let i = 0; i < 13; i++) {
      const result = await client.call({ path: '/x' });
      expect(result.outcome).toBe('upstream_error');
    }

    expect(client.breakerState()).toBe('closed');
    expect(transitions).toEqual([]);
  });

  it('counts timeouts and unreachable as failures', async () => {
    const port = await freePort();
    client = createServiceClient({ origin: `http://127.0.0.1:${port}`, retryBudget: false });
    for (let i = 0; i < 3; i++)
      expect((await client.call({ path: '/' })).outcome).toBe('unreachable');
    expect(client.breakerState()).toBe('open');
    await client.close();

    server = await startTestServer(() => undefined); // never answers
    client = createServiceClient({ origin: `http://127.0.0.1:${server.port}`, timeoutMs: 100 });
    for (let i = 0; i < 3; i++) expect((await client.call({ path: '/' })).outcome).toBe('timeout');
    expect(client.breakerState()).toBe('open');
  });

  it('opens no connection while open', async () => {
    // `connection: close` makes every request that is really sent open a new socket.
    server = await startTestServer((_req, res) => {
      res.setHeader('connection', 'close');
      json(res, 500, {});
    });
    client = createServiceClient({ origin: `http://127.0.0.1:${server.port}`, resetMs: 60_000 });
    for (let i = 0; i < 3; i++) await client.call({ path: '/x' });
    expect(client.breakerState()).toBe('open');
    const acceptedWhenOpened = server.accepted();

    const results = await Promise.all(
      Array.from({ length: 20 }, () => client.call({ path: '/x' })),
    );

    expect(results.every((r) => r.outcome === 'circuit_open')).toBe(true);
    expect(results.every((r) => r.latencyMs < 50)).toBe(true);
    expect(server.accepted()).toBe(acceptedWhenOpened);
    expect(server.requests()).toBe(3);
  });

  it('admits exactly one of 50 concurrent calls when half-open, and its success closes the breaker', async () => {
    let failing = true;
    server = await startTestServer((_req, res) => {
      if (failing) json(res, 500, {});
      else setTimeout(() => json(res, 200, { ok: true }), 100); // trial stays in flight a while
    });
    client = createServiceClient({
      origin: `http://127.0.0.1:${server.port}`,
      resetMs: 300,
      timeoutMs: 2000,
    });
    const transitions = recordTransitions(client);
    for (let i = 0; i < 3; i++) await client.call({ path: '/x' });
    expect(client.breakerState()).toBe('open');

    failing = false;
    await nextTransition(client, 'half_open');
    const requestsBefore = server.requests();
    const results = await Promise.all(
      Array.from({ length: 50 }, () => client.call({ path: '/x' })),
    );

    const outcomes = results.map((r) => r.outcome);
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'circuit_open')).toHaveLength(49);
    expect(server.requests() - requestsBefore).toBe(1);
    expect(client.breakerState()).toBe('closed');
    expect(transitions.map((t) => `${t.from}->${t.to}`)).toEqual([
      'closed->open',
      'open->half_open',
      'half_open->closed',
    ]);

    // Recovered: calls go through again.
    const after = await Promise.all(Array.from({ length: 5 }, () => client.call({ path: '/x' })));
    expect(after.every((r) => r.outcome === 'ok')).toBe(true);
  });

  it('re-opens when the half-open trial fails', async () => {
    server = await startTestServer((_req, res) => json(res, 502, {}));
    client = createServiceClient({ origin: `http://127.0.0.1:${server.port}`, resetMs: 200 });
    const transitions = recordTransitions(client);
    for (let i = 0; i < 3; i++) await client.call({ path: '/x' });

    await nextTransition(client, 'half_open');
    const trial = await client.call({ path: '/x' });

    expect(trial).toMatchObject({
      outcome: 'upstream_error',
      statusCode: 502,
      breakerState: 'open',
    });
    expect(transitions.map((t) => t.to)).toEqual(['open', 'half_open', 'open']);
    expect((await client.call({ path: '/x' })).outcome).toBe('circuit_open');
    // Nothing was in flight when it opened, so it stayed open resetMs, not the 3 s default deadline.
    const openFor = (transitions[1]?.at ?? 0) - (transitions[0]?.at ?? 0);
    expect(openFor).toBeGreaterThanOrEqual(190);
    expect(openFor).toBeLessThan(1500);
  });

  it('keeps breakers of two clients apart', async () => {
    server = await startTestServer((req, res) => json(res, req.url === '/bad' ? 500 : 200, {}));
    client = createServiceClient({ origin: `http://127.0.0.1:${server.port}` });
    const other = createServiceClient({ origin: `http://127.0.0.1:${server.port}` });
    try {
      for (let i = 0; i < 3; i++) await client.call({ path: '/bad' });
      expect(client.breakerState()).toBe('open');
      expect(other.breakerState()).toBe('closed');
      expect((await other.call({ path: '/good' })).outcome).toBe('ok');
    } finally {
      await other.close();
    }
  });
});

describe('circuit breaker with calls outliving resetMs', () => {
  it('lets no call admitted before opening decide the half-open state', async () => {
    server = await startTestServer((req, res) => {
      if (req.url === '/slow-ok') setTimeout(() => json(res, 200, {}), 600);
      else json(res, 500, {});
    });
    client = createServiceClient({ origin: `http://127.0.0.1:${server.port}`, resetMs: 200 });
    const transitions = recordTransitions(client);

    // Admitted while closed, answers 2xx after the breaker has opened and resetMs has passed.
    const slow = client.call({ path: '/slow-ok', timeoutMs: 1000 });
    for (let i = 0; i < 3; i++) await client.call({ path: '/fail' });
    expect(client.breakerState()).toBe('open');
    await nextTransition(client, 'half_open');

    expect((await slow).outcome).toBe('ok');
    expect(client.breakerState()).toBe('half_open'); // a stale success must not close it
    expect((await client.call({ path: '/fail' })).breakerState).toBe('open'); // the real trial decides
    expect(transitions.map((t) => t.to)).toEqual(['open', 'half_open', 'open']);
  });
});
