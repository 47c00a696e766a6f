// The fair request queue (request-queue.ts) and the probe listener (probes.ts, PROBE_PORT):
// - a burst that costs more than a turn's budget waits in turns: probes and /metrics are handled
//   on arrival, the loop polls between batches, the rest is served in arrival order;
// - a request that waited longer than the limit is refused with 503 problem+json + Retry-After;
// - PROBE_PORT answers the probes and /metrics on their own socket, 404 problem+json for the
//   rest, 503 on /readyz through shutdown, and closes with the app.
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, commonConfigSchema, loadConfig } from '../src/config.js';
import { installRequestQueue } from '../src/request-queue.js';
import { createServer } from '../src/server.js';
import { registerServiceFoundation } from '../src/service.js';

/** Spins for `ms`: a handler whose synchronous cost is known. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

interface Recorded {
  status: number;
  headers: Record<string, unknown>;
  body: string;
}

/** Enough of a request/response pair for the queue, recording what is written. */
function exchange(url: string): {
  request: IncomingMessage;
  response: ServerResponse;
  written: Recorded | undefined;
} {
  const pair = {
    request: { url } as IncomingMessage,
    written: undefined as Recorded | undefined,
    response: undefined as unknown as ServerResponse,
  };
  pair.response = {
    destroyed: false,
    headersSent: false,
    writeHead(status: number, headers: Record<string, unknown>) {
      pair.written = { status, headers, body: '' };
      return this;
    },
    end(body: string) {
      pair.written!.body = body;
    },
  } as unknown as ServerResponse;
  return pair;
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('fair request queue', () => {
  it('handles probes on arrival, lets the loop turn between batches, and serves the rest in order', async () => {
    const server = createHttpServer();
    const handled: string[] = [];
    server.on('request', (request: IncomingMessage) => {
      handled.push(request.url!);
      if (request.url!.startsWith('/work')) busy(2);
    });
    const queue = installRequestQueue(server, { turnBudgetMs: 10, maxQueueDelayMs: 60_000 });
    // 100 requests of 2 ms arrive in one turn (200 ms of work), then a probe and /metrics.
    for (let i = 0; i < 100; i += 1) server.emit('request', exchange(`/work/${i}`).request, {});
    server.emit('request', exchange('/livez').request, {});
    server.emit('request', exchange('/metrics?x=1').request, {});
    let turnsSeenDuringDrain = 0;
    const countTurns = (): void => {
      if (queue.length === 0) return;
      turnsSeenDuringDrain += 1;
      setImmediate(countTurns);
    };
    setImmediate(countTurns);

    // The budget let a few through on arrival; the probe and /metrics did not wait for the rest.
    const beforeProbe = handled.indexOf('/livez');
    expect(beforeProbe).toBeGreaterThan(0);
    expect(beforeProbe).toBeLessThan(20);
    expect(handled[beforeProbe + 1]).toBe('/metrics?x=1');
    expect(queue.length).toBe(100 - beforeProbe);

    while (queue.length > 0) await nextTurn();
    // Served in arrival order, over several turns of the loop (each a chance to poll).
    expect(handled.filter((url) => url.startsWith('/work'))).toEqual(
      Array.from({ length: 100 }, (_, i) => `/work/${i}`),
    );
    expect(turnsSeenDuringDrain).toBeGreaterThan(3);
    queue.uninstall();
    expect(server.listeners('request')).toHaveLength(1);
  });

  it('refuses a request that waited past the limit with 503 problem+json and Retry-After, without handling it', async () => {
    const server = createHttpServer();
    const handled: string[] = [];
    server.on('request', (request: IncomingMessage) => {
      handled.push(request.url!);
      busy(5);
    });
    let shedCount = 0;
    const queue = installRequestQueue(server, {
      turnBudgetMs: 5,
      maxQueueDelayMs: 30,
      retryAfterSeconds: 7,
      onShed: () => (shedCount += 1),
    });
    const pairs = Array.from({ length: 60 }, (_, i) => exchange(`/work/${i}`));
    for (const pair of pairs) server.emit('request', pair.request, pair.response);
    while (queue.length > 0) await nextTurn();

    const refused = pairs.filter((pair) => pair.written?.status === 503);
    expect(refused.length).toBeGreaterThan(0);
    expect(shedCount).toBe(refused.length);
    // Refused ones were never handed to the app; every request was either handled or refused.
    expect(handled.length + refused.length).toBe(60);
    for (const pair of refused) {
      expect(handled).not.toContain(pair.request.url);
      expect(pair.written!.headers).toMatchObject({
        'content-type': 'application/problem+json',
        'retry-after': '7',
      });
      expect(JSON.parse(pair.written!.body)).toMatchObject({ status: 503, type: 'about:blank' });
    }
    // The first ones, handled within the limit, were not refused.
    expect(pairs[0]!.written).toBeUndefined();
    queue.uninstall();
  });

  it('hands a quiet server’s requests straight to the app', () => {
    const server = createHttpServer();
    const handled: string[] = [];
    server.on('request', (request: IncomingMessage) => handled.push(request.url!));
    const queue = installRequestQueue(server);
    server.emit('request', exchange('/a').request, {});
    server.emit('request', exchange('/b').request, {});
    expect(handled).toEqual(['/a', '/b']);
    expect(queue.length).toBe(0);
    queue.uninstall();
  });
});

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('probe listener (PROBE_PORT)', () => {
  it('answers the probes and /metrics on its own port, 404 problem+json for anything else, and closes with the app', async () => {
    app = createServer({ logger: false });
    await registerServiceFoundation(app, {
      service: 'test',
      config: { PROBE_PORT: 0, HOST: '127.0.0.1' },
      metadataUrl: false,
    });
    app.get('/work', async () => ({ done: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const probeAddress = app.probeAddress();
    expect(probeAddress).not.toBeNull();
    expect(probeAddress!.port).not.toBe((app.server.address() as AddressInfo).port);
    const probes = `http://127.0.0.1:${probeAddress!.port}`;

    expect(await (await fetch(`${probes}/livez`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${probes}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${probes}/metrics`)).text()).toMatch(/^s2s_build_info\{/m);
    const elsewhere = await fetch(`${probes}/work`);
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.headers.get('content-type')).toBe('application/problem+json');
    expect(await elsewhere.json()).toMatchObject({ status: 404 });

    app.readiness.markShuttingDown();
    const draining = await fetch(`${probes}/readyz`);
    expect(draining.status).toBe(503);
    expect(await draining.json()).toEqual({ status: 'shutting_down' });

    await app.close();
    app = undefined;
    await expect(fetch(`${probes}/livez`)).rejects.toThrow();
  });

  it('is off unless PROBE_PORT is set', async () => {
    app = createServer({ logger: false });
    await registerServiceFoundation(app, { service: 'test', config: {}, metadataUrl: false });
    await app.ready();
    expect(app.probeAddress()).toBeNull();
  });

  it('a bad PROBE_PORT stops start-up naming the variable', () => {
    expect(() => loadConfig(commonConfigSchema, { PROBE_PORT: 'abc' })).toThrow(ConfigError);
    expect(() => loadConfig(commonConfigSchema, { PROBE_PORT: '70000' })).toThrow(/PROBE_PORT/);
  });
});
