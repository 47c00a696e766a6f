import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { createServiceClient } from '../src/index.js';
import type { BreakerTransition, ServiceClient } from '../src/index.js';
import { json, startTestServer } from './test-server.js';
import type { TestServer } from './test-server.js';

let server: TestServer | undefined;
let client: ServiceClient | undefined;

afterEach(async () => {
  await client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

describe('limit on calls in flight', () => {
  it('gives 200 concurrent slow calls to a healthy upstream only ok or overloaded, and no breaker transition', async () => {
    // The case: delay 2000 under the 3 s deadline, a 128-socket pool. Before the limit, 72
    // calls waited for a socket, timed out and opened the breaker.
    server = await startTestServer((_req, res) => {
      setTimeout(() => json(res, 200, { ok: true }), 2000);
    });
    client = createServiceClient({ origin: `http://127.0.0.1:${server.port}`, timeoutMs: 3000 });
    const transitions: BreakerTransition[] = [];
    client.on('breakerTransition', (t) => transitions.push(t));

    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        client!.call({ path: '/producer/messages', json: { id: `m${i}`, delay: 2000 } }),
      ),
    );

    const count = (outcome: string): number => results.filter((r) => r.outcome === outcome).length;
    expect(count('ok') + count('overloaded')).toBe(200);
    expect(count('ok')).toBe(128); // the default limit: the pool's 128 connections
    expect(count('overloaded')).toBe(72);
    expect(transitions).toEqual([]);
    expect(client.breakerState()).toBe('closed');
    // Nothing was queued or sent for the overloaded calls.
    expect(server.requests()).toBe(128);
    expect(server.accepted()).toBeLessThanOrEqual(128);
  });

  it('ends a call beyond the limit at once: overloaded, never sent, with a retry-after, never counted', async () => {
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    server = await startTestServer((req, res) => {
      if (req.url === '/hold') void answered.then(() => json(res, 200, {}));
      else json(res, 500, {});
    });
    client = createServiceClient({
      origin: `http://127.0.0.1:${server.port}`,
      connections: 4,
      maxInFlight: 2,
      failureThreshold: 1, // any counted failure would open the breaker
    });
    const held = [client.call({ path: '/hold' }), client.call({ path: '/hold' })];
    expect(client.inFlight()).toBe(2);

    const overloaded = await Promise.all(
      Array.from({ length: 10 }, () => client!.call({ path: '/x' })),
    );

    for (const result of overloaded) {
      expect(result).toMatchObject({
        outcome: 'overloaded',
        statusCode: null,
        errorCode: 'EOVERLOADED',
        retried: false,
        breakerState: 'closed',
      });
      expect(result.retryAfterMs).toBeGreaterThan(0);
      expect(result.latencyMs).toBeLessThan(100); // ended at once, never waited for the held calls
    }
    answer();
    expect((await Promise.all(held)).map((r) => r.outcome)).toEqual(['ok', 'ok']);
    expect(server.requests()).toBe(2);
    expect(client.inFlight()).toBe(0);
    // The slots are back: the next call goes through.
    expect((await client.call({ path: '/hold' })).outcome).toBe('ok');
  });

  it('relies on undici 8 opening one socket per concurrent call up to `connections`, queueing none', async () => {
    // Not a documented promise of undici's Pool, so pinned here with the version it was verified on:
    // with maxInFlight <= connections, every admitted call gets its own socket at once.
    const undiciVersion = (
      createRequire(import.meta.url)('undici/package.json') as { version: string }
    ).version;
    expect(undiciVersion).toMatch(/^8\./);
    const started: number[] = [];
    server = await startTestServer((_req, res) => {
      started.push(performance.now());
      setTimeout(() => json(res, 200, {}), 1000);
    });
    client = createServiceClient({ origin: `http://127.0.0.1:${server.port}`, connections: 16 });
    const t0 = performance.now();

    const results = await Promise.all(
      Array.from({ length: 16 }, () => client!.call({ path: '/' })),
    );

    expect(results.map((r) => r.outcome)).toEqual(Array(16).fill('ok'));
    expect(server.accepted()).toBe(16);
    // All 16 reached the server before the first answer (1 s): none waited for another's socket.
    expect(Math.max(...started) - t0).toBeLessThan(900);
  });

  it('refuses a limit above the pool size, where an admitted call would wait for a socket', () => {
    expect(() =>
      createServiceClient({ origin: 'http://127.0.0.1:1', connections: 8, maxInFlight: 9 }),
    ).toThrow(/maxInFlight \(9\) must not exceed connections \(8\)/);
  });
});
