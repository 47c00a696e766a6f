// The caller's connections to the producer: the limit on calls in flight (PRODUCER_MAX_IN_FLIGHT),
// the 503s that carry Retry-After, and how many calls one connection carries
// (PRODUCER_MAX_REQUESTS_PER_CONNECTION), end to end through real sockets to a real producer on
// 127.0.0.1.
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import Value from 'typebox/value';
import { afterEach, describe, expect, it } from 'vitest';
import { loadCallerConfig } from '../src/config.js';
import { envelopeSchema } from '../src/schemas/messages.js';
import { buildTestCaller, startProducer, type RunningProducer } from './helpers.js';

let caller: FastifyInstance | undefined;
let producer: RunningProducer | undefined;
afterEach(async () => {
  await caller?.close();
  await producer?.app.close();
  caller = undefined;
  producer = undefined;
});

async function send(body: unknown) {
  const response = await caller!.inject({
    method: 'POST',
    url: '/caller/messages',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
  expect([...Value.Errors(envelopeSchema, response.json())]).toEqual([]);
  return response;
}

describe('PRODUCER_MAX_IN_FLIGHT', () => {
  it('answers calls beyond the limit at once with 503 overloaded and Retry-After, never sends them, never opens the breaker', async () => {
    producer = await startProducer();
    caller = await buildTestCaller(producer.port, { PRODUCER_MAX_IN_FLIGHT: '8' });

    // 20 concurrent slow calls (under the 3 s timeout) against a limit of 8.
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => send({ id: `s${i}`, payload: 'p', delay: 1000 })),
    );

    const ok = responses.filter((r) => r.statusCode === 200);
    const overloaded = responses.filter((r) => r.statusCode === 503);
    expect(ok).toHaveLength(8);
    expect(overloaded).toHaveLength(12);
    for (const response of overloaded) {
      expect(response.json()).toMatchObject({
        outcome: 'overloaded',
        statusCode: null,
        received: null,
        breaker: { state: 'closed' },
      });
      expect(response.headers['retry-after']).toBe('1');
      const { roundTripTimeMillis } = response.json<{ roundTripTimeMillis: number }>();
      expect(roundTripTimeMillis).toBeLessThan(500); // not queued behind the slow calls
    }
    expect(producer.received()).toBe(8);

    const metrics = (await caller.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(
      /http_client_requests_total\{upstream="[^"]+",outcome="overloaded",http_response_status_code="none"\} 12\n/,
    );
    expect(metrics).toMatch(/circuit_breaker_transitions_total\{upstream="[^"]+",to="open"\} 0/);
  });

  it('defaults to the client pool size, 128', () => {
    expect(loadCallerConfig({}).PRODUCER_MAX_IN_FLIGHT).toBe(128);
  });

  it('stops start-up naming the variable on a bad value', () => {
    expect(() => loadCallerConfig({ PRODUCER_MAX_IN_FLIGHT: 'abc' })).toThrow(
      /PRODUCER_MAX_IN_FLIGHT/,
    );
    expect(() => loadCallerConfig({ PRODUCER_MAX_IN_FLIGHT: '0' })).toThrow(
      /PRODUCER_MAX_IN_FLIGHT/,
    );
  });
});

describe('Retry-After', () => {
  it('comes with circuit_open: the seconds until the breaker lets a trial call through', async () => {
    producer = await startProducer();
    caller = await buildTestCaller(producer.port, { BREAKER_RESET_MS: '15000' });
    for (let i = 0; i < 3; i++) await send({ id: 'f', payload: 'p', responseCode: 500 });

    const rejected = await send({ id: 'o', payload: 'p' });

    expect(rejected.statusCode).toBe(503);
    expect(rejected.json()).toMatchObject({ outcome: 'circuit_open' });
    const seconds = Number(rejected.headers['retry-after']);
    expect(seconds).toBeGreaterThanOrEqual(14);
    expect(seconds).toBeLessThanOrEqual(15);
  });

  it('is absent from answers that reached the producer', async () => {
    producer = await startProducer();
    caller = await buildTestCaller(producer.port);
    expect((await send({ id: 'a', payload: 'p' })).headers['retry-after']).toBeUndefined();
    expect(
      (await send({ id: 'b', payload: 'p', responseCode: 503 })).headers['retry-after'],
    ).toBeUndefined();
  });
});

describe('PRODUCER_MAX_REQUESTS_PER_CONNECTION', () => {
  it('with 5, 30 calls in a row open a new connection at least every 5 calls, and every call is answered', async () => {
    producer = await startProducer();
    let connections = 0;
    producer.app.server.on('connection', () => (connections += 1));
    const closing: string[] = [];
    producer.app.server.on('request', (request: IncomingMessage) => {
      if (request.headers.connection === 'close') closing.push(request.url ?? '');
    });
    caller = await buildTestCaller(producer.port, { PRODUCER_MAX_REQUESTS_PER_CONNECTION: '5' });

    for (let i = 0; i < 30; i++) {
      const response = await caller.inject({
        method: 'POST',
        url: '/caller/messages',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ id: `r${i}`, payload: 'p' }),
      });
      expect(response.statusCode).toBe(200);
    }
    expect(producer.received()).toBe(30);
    expect(connections).toBeGreaterThanOrEqual(6);
    expect(closing.length).toBeGreaterThanOrEqual(5);
    expect(closing.every((url) => url === '/producer/messages')).toBe(true);
  });

  it('defaults to 0, no limit', () => {
    expect(loadCallerConfig({}).PRODUCER_MAX_REQUESTS_PER_CONNECTION).toBe(0);
  });

  it.each(['abc', '-1', '1.5'])('stops start-up naming the variable on %s', (value) => {
    expect(() => loadCallerConfig({ PRODUCER_MAX_REQUESTS_PER_CONNECTION: value })).toThrow(
      /PRODUCER_MAX_REQUESTS_PER_CONNECTION/,
    );
  });
});
