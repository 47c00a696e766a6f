// Every outcome of docs/contract.md's table, end to end through real sockets: caller app → real
// producer app on 127.0.0.1, addressed by its clusterset name through PRODUCER_CONNECT_TO.
import type { FastifyInstance } from 'fastify';
import Value from 'typebox/value';
import { afterEach, describe, expect, it } from 'vitest';
import { envelopeSchema, type Envelope } from '../src/schemas/messages.js';
import {
  PRODUCER_HOST,
  buildTestCaller,
  startProducer,
  stoppedPort,
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

/**
 * One call through the caller. The route serialises its envelope with plain JSON.stringify, so
 * every envelope any test gets is checked here against the published schema.
 */
async function send(body: unknown, headers: Record<string, string> = {}) {
  const response = await caller!.inject({
    method: 'POST',
    url: '/caller/messages',
    headers: { 'content-type': 'application/json', ...headers },
    payload: JSON.stringify(body),
  });
  expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
  const envelope: unknown = response.json();
  expect([...Value.Errors(envelopeSchema, envelope)]).toEqual([]);
  return response;
}

const ENVELOPE_KEYS = [
  'breaker',
  'callerHeaders',
  'callerMetadata',
  'id',
  'outcome',
  'producerHeaders',
  'producerMetadata',
  'received',
  'roundTripTimeMillis',
  'statusCode',
  'traceId',
];

describe('POST /caller/messages outcomes', () => {
  it('ok: 200 with both hops, the Host kept as the clusterset name, x-request-id and traceparent propagated', async () => {
    producer = await startProducer();
    caller = await buildTestCaller(producer.port);
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const response = await send(
      { id: 'msg-1', payload: 'hello' },
      {
        'x-request-id': 'req-42',
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
        authorization: 'Bearer s3cret',
      },
    );
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-request-id']).toBe('req-42');
    const envelope = response.json<Envelope>();
    expect(Object.keys(envelope).sort()).toEqual(ENVELOPE_KEYS);
    expect(envelope).toMatchObject({
      id: 'msg-1',
      received: 'hello',
      statusCode: 200,
      outcome: 'ok',
      breaker: { state: 'closed' },
      traceId,
      callerMetadata: { service: 'sample-caller', clusterName: 'cluster-a', podIp: '10.0.0.7' },
      producerMetadata: {
        service: 'sample-producer',
        clusterName: 'cluster-b',
        clusterLocation: 'us-central1-a',
      },
      callerHeaders: { 'x-request-id': 'req-42' },
      producerHeaders: {
        host: `${PRODUCER_HOST}:8080`,
        'x-request-id': 'req-42',
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
      },
    });
    expect(envelope.roundTripTimeMillis).toBeGreaterThan(0);
    expect(envelope.callerHeaders.authorization).toBe('[redacted]');
    expect(JSON.stringify(envelope)).not.toContain('s3cret');
  });

  it('ok: generates an id and an x-request-id when absent; traceId is null without trace context', async () => {
    producer = await startProducer();
    caller = await buildTestCaller(producer.port);
    const response = await send({ payload: 'no id' });
    expect(response.statusCode).toBe(200);
    const envelope = response.json<Envelope>();
    expect(envelope.id).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
    expect(envelope.traceId).toBeNull();
    const requestId = response.headers['x-request-id'];
    expect(requestId).toEqual(expect.any(String));
    expect(envelope.producerHeaders?.['x-request-id']).toBe(requestId);
  });

  it('upstream_error: a 5xx answer gives 502 with the status, received null, producer metadata kept', async () => {
    producer = await startProducer();
    caller = await buildTestCaller(producer.port);
    const response = await send({ id: 'e', payload: 'p', responseCode: 503 });
    expect(response.statusCode).toBe(502);
    expect(response.json()).toMatchObject({
      outcome: 'upstream_error',
      statusCode: 503,
      received: null,
      producerMetadata: { service: 'sample-producer' },
    });
  });

  it('maps the producer status classes: 204 is ok without a body, 3xx is an upstream_error', async () => {
    producer = await startProducer();
    caller = await buildTestCaller(producer.port);
    const noContent = await send({ id: 'n', payload: 'p', responseCode: 204 });
    expect(noContent.statusCode).toBe(200);
    expect(noContent.json()).toMatchObject({ outcome: 'ok', statusCode: 204, received: null });
    for (const responseCode of [302, 304]) {
      const redirect = await send({ id: 'r', payload: 'p', responseCode });
      expect(redirect.statusCode).toBe(502);
      expect(redirect.json()).toMatchObject({
        outcome: 'upstream_error',
        statusCode: responseCode,
      });
    }
  });

  it('upstream_error: 4xx answers give 502 but never open the breaker', async () => {
    producer = await startProducer();
    caller = await buildTestCaller(producer.port, { BREAKER_FAILURE_THRESHOLD: '2' });
    for (let i = 0; i < 4; i++) {
      const response = await send({ id: 'e', payload: 'p', responseCode: 404 });
      expect(response.statusCode).toBe(502);
      expect(response.json()).toMatchObject({
        outcome: 'upstream_error',
        statusCode: 404,
        breaker: { state: 'closed' },
      });
    }
    expect(producer.received()).toBe(4);
  });

  it('timeout: no answer within PRODUCER_TIMEOUT_MS gives 504 with statusCode null', async () => {
    producer = await startProducer();
    caller = await buildTestCaller(producer.port, { PRODUCER_TIMEOUT_MS: '300' });
    const started = performance.now();
    const response = await send({ id: 't', payload: 'p', delay: 5000 });
    expect(response.statusCode).toBe(504);
    expect(response.json()).toMatchObject({
      outcome: 'timeout',
      statusCode: null,
      received: null,
      producerMetadata: null,
      producerHeaders: null,
    });
    expect(performance.now() - started).toBeLessThan(4000);
  });

  it('unreachable: a stopped port gives 502 with statusCode null', async () => {
    caller = await buildTestCaller(await stoppedPort());
    const response = await send({ id: 'u', payload: 'p' });
    expect(response.statusCode).toBe(502);
    expect(response.json()).toMatchObject({
      outcome: 'unreachable',
      statusCode: null,
      producerMetadata: null,
    });
  });

  it('circuit_open: after the threshold the breaker opens, 503 and no request reaches the producer; it recovers after BREAKER_RESET_MS', async () => {
    producer = await startProducer();
    caller = await buildTestCaller(producer.port, {
      BREAKER_FAILURE_THRESHOLD: '2',
      BREAKER_RESET_MS: '600',
    });
    for (let i = 0; i < 2; i++) {
      expect((await send({ id: 'f', payload: 'p', responseCode: 500 })).statusCode).toBe(502);
    }
    const reached = producer.received();
    expect(reached).toBe(2);

    const rejected = await send({ id: 'o', payload: 'p' });
    expect(rejected.statusCode).toBe(503);
    expect(rejected.json()).toMatchObject({
      outcome: 'circuit_open',
      statusCode: null,
      received: null,
      breaker: { state: 'open' },
    });
    expect(producer.received()).toBe(reached);

    // After the reset time one trial call goes through and closes the breaker again.
    const deadline = Date.now() + 10_000;
    let recovered = rejected;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      recovered = await send({ id: 'r', payload: 'p' });
      if (recovered.json<Envelope>().outcome !== 'circuit_open') break;
    }
    expect(recovered.statusCode).toBe(200);
    expect(recovered.json()).toMatchObject({ outcome: 'ok', breaker: { state: 'closed' } });

    const metrics = (await caller.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(/circuit_breaker_transitions_total\{upstream="[^"]+",to="open"\} 1/);
    expect(metrics).toMatch(
      /circuit_breaker_transitions_total\{upstream="[^"]+",to="half_open"\} 1/,
    );
    expect(metrics).toMatch(/circuit_breaker_state\{upstream="[^"]+",state="closed"\} 1/);
    expect(metrics).toMatch(/circuit_breaker_state\{upstream="[^"]+",state="open"\} 0/);
    expect(metrics).toMatch(
      /http_client_requests_total\{upstream="[^"]+",outcome="circuit_open",http_response_status_code="none"\} [1-9]\d*\n/,
    );
  });

  it('stays ready while the producer is unreachable', async () => {
    caller = await buildTestCaller(await stoppedPort(), { BREAKER_FAILURE_THRESHOLD: '1' });
    await send({ id: 'u', payload: 'p' });
    expect((await caller.inject({ url: '/readyz' })).statusCode).toBe(200);
  });
});
