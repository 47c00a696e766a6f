// Validation, errors, UI, probes and metrics of the caller, with app.inject.
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { loadCallerConfig } from '../src/config.js';
import { buildTestCaller, startProducer, stoppedPort, type RunningProducer } from './helpers.js';

let caller: FastifyInstance | undefined;
let producer: RunningProducer | undefined;
afterEach(async () => {
  await caller?.close();
  await producer?.app.close();
  caller = undefined;
  producer = undefined;
});

const json = { 'content-type': 'application/json' };

describe('caller validation', () => {
  it('rejects bad fields with 400 naming the field, without calling the producer', async () => {
    producer = await startProducer();
    caller = await buildTestCaller(producer.port, { MAX_DELAY_MS: '1000' });
    const cases: Array<[unknown, string]> = [
      [{}, 'payload'],
      [{ id: '', payload: 'p' }, 'id'],
      [{ id: 'no spaces', payload: 'p' }, 'id'],
      [{ payload: 'x'.repeat(4097) }, 'payload'],
      [{ payload: 'p', delay: 1001 }, 'delay'],
      [{ payload: 'p', delay: '5' }, 'delay'],
      [{ payload: 'p', responseCode: 100 }, 'responseCode'],
    ];
    for (const [body, field] of cases) {
      const response = await caller.inject({
        method: 'POST',
        url: '/caller/messages',
        headers: json,
        payload: JSON.stringify(body),
      });
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.json()).toMatchObject({ type: 'about:blank', status: 400, field });
    }
    expect(producer.received()).toBe(0);
  });

  it('answers 400 malformed JSON, 413 over 64 KiB, 415 non-JSON, 404 unknown route', async () => {
    caller = await buildTestCaller(await stoppedPort());
    const post = (headers: Record<string, string>, payload: string) =>
      caller!.inject({ method: 'POST', url: '/caller/messages', headers, payload });
    expect((await post(json, '{"payload": ')).statusCode).toBe(400);
    expect((await post(json, JSON.stringify({ payload: 'x'.repeat(70_000) }))).statusCode).toBe(
      413,
    );
    expect((await post({ 'content-type': 'text/plain' }, 'payload')).statusCode).toBe(415);
    const missing = await caller.inject({ url: '/caller/nothing' });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});

describe('caller UI and probes', () => {
  it('serves the UI at / as HTML with relative asset URLs', async () => {
    caller = await buildTestCaller(await stoppedPort());
    const response = await caller.inject({ url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.body).not.toMatch(/(src|href)="\/(?!\/)/);
    expect(response.body).not.toMatch(/(src|href)="https?:/);
  });

  it('answers /livez and /readyz', async () => {
    caller = await buildTestCaller(await stoppedPort());
    expect((await caller.inject({ url: '/livez' })).statusCode).toBe(200);
    expect((await caller.inject({ url: '/readyz' })).statusCode).toBe(200);
  });
});

describe('caller metrics', () => {
  it('exposes server, client and breaker series', async () => {
    producer = await startProducer();
    caller = await buildTestCaller(producer.port);
    await caller.inject({
      method: 'POST',
      url: '/caller/messages',
      headers: json,
      payload: JSON.stringify({ payload: 'p' }),
    });
    const response = await caller.inject({ url: '/metrics' });
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    const text = response.body;
    expect(text).toContain('# TYPE http_server_request_duration_seconds histogram');
    expect(text).toMatch(
      /http_server_request_duration_seconds_count\{http_request_method="POST",http_route="\/caller\/messages",http_response_status_code="200"\} 1/,
    );
    expect(text).toContain('# TYPE http_client_request_duration_seconds histogram');
    expect(text).toMatch(
      /http_client_request_duration_seconds_count\{upstream="[^"]+",outcome="ok",status_class="2xx"\} 1/,
    );
    expect(text).toMatch(
      /http_client_requests_total\{upstream="[^"]+",outcome="ok",http_response_status_code="200"\} 1/,
    );
    expect(text).toMatch(/circuit_breaker_state\{upstream="[^"]+",state="closed"\} 1/);
    expect(text).toMatch(/circuit_breaker_state\{upstream="[^"]+",state="open"\} 0/);
    expect(text).toMatch(/circuit_breaker_state\{upstream="[^"]+",state="half_open"\} 0/);
    expect(text).toMatch(/circuit_breaker_transitions_total\{upstream="[^"]+",to="open"\} 0/);
    expect(text).toContain('process_resident_memory_bytes');
  });
});

describe('caller config', () => {
  it('uses the contract defaults', () => {
    expect(loadCallerConfig({})).toMatchObject({
      PORT: 8080,
      HOST: '0.0.0.0',
      PRODUCER_URL: 'http://sample-producer.istio-apps.svc.clusterset.local:8080',
      PRODUCER_CONNECT_TO: '',
      PRODUCER_TIMEOUT_MS: 3000,
      BREAKER_FAILURE_THRESHOLD: 3,
      BREAKER_RESET_MS: 15000,
      MAX_DELAY_MS: 30000,
      SHUTDOWN_DELAY_MS: 5000,
      LOG_LEVEL: 'info',
    });
  });

  it('names the variable of an invalid URL, connect-to entry or number', () => {
    expect(() => loadCallerConfig({ PRODUCER_URL: 'not a url' })).toThrow(/PRODUCER_URL/);
    expect(() => loadCallerConfig({ PRODUCER_URL: 'ftp://x' })).toThrow(/PRODUCER_URL/);
    expect(() => loadCallerConfig({ PRODUCER_CONNECT_TO: 'a:b' })).toThrow(/PRODUCER_CONNECT_TO/);
    expect(() => loadCallerConfig({ PRODUCER_TIMEOUT_MS: 'abc' })).toThrow(/PRODUCER_TIMEOUT_MS/);
    expect(() => loadCallerConfig({ BREAKER_RESET_MS: '-1' })).toThrow(/BREAKER_RESET_MS/);
  });
});
