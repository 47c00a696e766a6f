// Every 503 the caller answers carries Retry-After (docs/contract.md): circuit_open, overloaded,
// readiness while shutting down, and admission control under pressure, over real sockets.
import type { AddressInfo } from 'node:net';
import type {} from '@s2s/service-kit/probes'; // fastify.readiness
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { buildCallerApp } from '../src/app.js';
import { loadCallerConfig } from '../src/config.js';
import {
  CALLER_IDENTITY_ENV,
  PRODUCER_HOST,
  PRODUCER_URL,
  buildTestCaller,
  startProducer,
  type RunningProducer,
} from './helpers.js';

let caller: FastifyInstance | undefined;
let producer: RunningProducer | undefined;
afterEach(async () => {
  await caller?.close();
  await producer?.app.close();
  caller = undefined;
  producer = undefined;
});

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

async function post(origin: string, body: object) {
  const response = await request(`${origin}/caller/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.body.text();
  return { status: response.statusCode, retryAfter: response.headers['retry-after'], text };
}

describe('Retry-After on every 503', () => {
  it('circuit_open carries a Retry-After of at least one second', async () => {
    producer = await startProducer();
    caller = await buildTestCaller(producer.port, { BREAKER_RESET_MS: '5000' });
    const origin = await listen(caller);
    for (let i = 0; i < 3; i += 1) {
      expect((await post(origin, { payload: 'p', responseCode: 500 })).status).toBe(502);
    }
    const open = await post(origin, { payload: 'p' });
    expect(open.status).toBe(503);
    expect(JSON.parse(open.text)).toMatchObject({ outcome: 'circuit_open' });
    expect(Number(open.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(open.retryAfter)).toBeLessThanOrEqual(5);
  });

  it('overloaded carries it', async () => {
    producer = await startProducer();
    caller = await buildTestCaller(producer.port, { PRODUCER_MAX_IN_FLIGHT: '1' });
    const origin = await listen(caller);
    const [first, second] = await Promise.all([
      post(origin, { payload: 'p', delay: 300 }),
      post(origin, { payload: 'p', delay: 300 }),
    ]);
    const overloaded = [first, second].find((answer) => answer.status === 503);
    expect(overloaded).toBeDefined();
    expect(JSON.parse(overloaded!.text)).toMatchObject({ outcome: 'overloaded' });
    expect(Number(overloaded!.retryAfter)).toBeGreaterThanOrEqual(1);
  });

  it('readiness while shutting down carries it', async () => {
    producer = await startProducer();
    caller = await buildTestCaller(producer.port);
    const origin = await listen(caller);
    caller.readiness.markShuttingDown();
    const readyz = await request(`${origin}/readyz`);
    await readyz.body.dump();
    expect(readyz.statusCode).toBe(503);
    expect(readyz.headers['retry-after']).toBe('1');
  });

  it('admission control under pressure carries it, sends nothing to the producer, and spares the probes', async () => {
    producer = await startProducer();
    const config = loadCallerConfig({
      ...CALLER_IDENTITY_ENV,
      PRODUCER_URL,
      PRODUCER_CONNECT_TO: `${PRODUCER_HOST}:8080:127.0.0.1:${producer.port}`,
    });
    caller = await buildCallerApp({
      config,
      logger: false,
      metadataUrl: false,
      admission: { maxHeapUsedRatio: 0, sampleIntervalMs: 20 },
    });
    const origin = await listen(caller);
    const deadline = Date.now() + 5_000;
    while (caller.admission.pressure() === null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const refused = await post(origin, { payload: 'p' });
    expect(refused.status).toBe(503);
    expect(refused.retryAfter).toBe('2');
    expect(JSON.parse(refused.text)).toMatchObject({ type: 'about:blank', status: 503 });
    expect(producer.received()).toBe(0);
    const livez = await request(`${origin}/livez`);
    await livez.body.dump();
    expect(livez.statusCode).toBe(200);
  });
});
