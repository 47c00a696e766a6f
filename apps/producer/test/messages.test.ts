import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { buildProducerApp } from '../src/app.js';
import { loadProducerConfig } from '../src/config.js';
import { IDENTITY_ENV, buildTestProducer, IN_PROCESS_ADMISSION } from './helpers.js';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const json = { 'content-type': 'application/json' };

async function post(target: FastifyInstance, body: unknown, headers: Record<string, string> = {}) {
  return target.inject({
    method: 'POST',
    url: '/producer/messages',
    headers: { ...json, ...headers },
    payload: JSON.stringify(body),
  });
}

describe('POST /producer/messages', () => {
  it('echoes id, payload, headers and the pod identity', async () => {
    app = await buildTestProducer();
    const response = await post(app, { id: 'm-1', payload: 'hello' }, { 'x-custom': 'yes' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      id: 'm-1',
      received: 'hello',
      headers: { 'x-custom': 'yes', 'content-type': 'application/json' },
      metadata: {
        service: 'sample-producer',
        clusterName: 'cluster-b',
        clusterLocation: 'us-central1-a',
        podName: 'sample-producer-abc',
        podIp: '10.1.2.3',
        appVersion: 'v1',
      },
    });
  });

  it('echoes every credential header of the contract as [redacted], name kept', async () => {
    app = await buildTestProducer();
    const secrets = {
      authorization: 'Bearer s3cret',
      cookie: 'a=s3cret',
      'proxy-authorization': 'Basic s3cret',
      'x-api-key': 's3cret',
      'x-auth-token': 's3cret',
      'x-goog-iap-jwt-assertion': 's3cret',
      'x-amz-security-token': 's3cret',
      'x-session-id': 's3cret',
    };
    const response = await post(
      app,
      { id: 'm', payload: '' },
      {
        ...secrets,
        'x-forwarded-client-cert': 'By=spiffe://a;Hash=s3cret;URI=spiffe://b',
      },
    );
    const { headers } = response.json<{ headers: Record<string, unknown> }>();
    for (const name of Object.keys(secrets)) expect(headers[name], name).toBe('[redacted]');
    expect(headers['x-forwarded-client-cert']).toBe('By=spiffe://a;Hash=[redacted];URI=spiffe://b');
    expect(response.body).not.toContain('s3cret');
  });

  it('answers with the requested responseCode and still echoes', async () => {
    app = await buildTestProducer();
    for (const responseCode of [201, 302, 404, 503]) {
      const response = await post(app, { id: 'm', payload: 'p', responseCode });
      expect(response.statusCode).toBe(responseCode);
      expect(response.json()).toMatchObject({ id: 'm', received: 'p' });
    }
  });

  it('waits for the requested delay before answering', async () => {
    app = await buildTestProducer();
    const started = performance.now();
    const response = await post(app, { id: 'm', payload: 'p', delay: 300 });
    expect(response.statusCode).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('rejects bad fields with 400 naming the field', async () => {
    app = await buildTestProducer({ MAX_DELAY_MS: '1000' });
    const cases: Array<[unknown, string]> = [
      [{ payload: 'p' }, 'id'],
      [{ id: '', payload: 'p' }, 'id'],
      [{ id: 'x'.repeat(65), payload: 'p' }, 'id'],
      [{ id: 'bad id!', payload: 'p' }, 'id'],
      [{ id: 'm' }, 'payload'],
      [{ id: 'm', payload: 'x'.repeat(4097) }, 'payload'],
      [{ id: 'm', payload: 'p', delay: 1001 }, 'delay'],
      [{ id: 'm', payload: 'p', delay: -1 }, 'delay'],
      [{ id: 'm', payload: 'p', delay: 1.5 }, 'delay'],
      [{ id: 'm', payload: 'p', delay: '100' }, 'delay'],
      [{ id: 'm', payload: 'p', responseCode: 199 }, 'responseCode'],
      [{ id: 'm', payload: 'p', responseCode: 600 }, 'responseCode'],
      [{ id: 7, payload: 'p' }, 'id'],
    ];
    for (const [body, field] of cases) {
      const response = await post(app, body);
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.json(), JSON.stringify(body)).toMatchObject({ status: 400, field });
    }
  });

  it('accepts payloads up to 4096 characters and ids up to 64', async () => {
    app = await buildTestProducer();
    const response = await post(app, { id: 'a'.repeat(64), payload: 'é'.repeat(4096) });
    expect(response.statusCode).toBe(200);
  });

  it('answers 403 to fault knobs when FAULTS_ENABLED=false, but serves plain calls', async () => {
    app = await buildTestProducer({ FAULTS_ENABLED: 'false' });
    const delayed = await post(app, { id: 'm', payload: 'p', delay: 10 });
    expect(delayed.statusCode).toBe(403);
    expect(delayed.json()).toMatchObject({ status: 403, field: 'delay' });
    const failing = await post(app, { id: 'm', payload: 'p', responseCode: 500 });
    expect(failing.json()).toMatchObject({ status: 403, field: 'responseCode' });
    const neutral = await post(app, { id: 'm', payload: 'p', delay: 0, responseCode: 200 });
    expect(neutral.statusCode).toBe(200);
  });

  it('accepts FAULTS_ENABLED=0 as off and 1 as on', async () => {
    app = await buildTestProducer({ FAULTS_ENABLED: '0' });
    expect((await post(app, { id: 'm', payload: 'p', responseCode: 500 })).statusCode).toBe(403);
    await app.close();
    app = await buildTestProducer({ FAULTS_ENABLED: '1' });
    expect((await post(app, { id: 'm', payload: 'p', responseCode: 500 })).statusCode).toBe(500);
  });

  it('stops waiting as soon as the client closes the connection', async () => {
    const lines: string[] = [];
    app = await buildProducerApp({
      config: loadProducerConfig({ ...IDENTITY_ENV, LOG_LEVEL: 'info' }),
      metadataUrl: false,
      logStream: { write: (line) => void lines.push(line) },
      admission: IN_PROCESS_ADMISSION,
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const controller = new AbortController();
    const call = request(`http://127.0.0.1:${port}/producer/messages`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ id: 'm', payload: 'p', delay: 20_000 }),
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 200).unref();
    await expect(call).rejects.toThrow();
    // The handler resumes (its timer cleared) long before the 20 s delay would have passed.
    const deadline = Date.now() + 5_000;
    const gaveUp = () => lines.some((line) => line.includes('client closed the connection'));
    while (!gaveUp() && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(gaveUp()).toBe(true);
  });
});

describe('producer basics', () => {
  it('serves probes and metrics', async () => {
    app = await buildTestProducer();
    expect((await app.inject({ url: '/livez' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(200);
    await post(app, { id: 'm', payload: 'p' });
    const metrics = (await app.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(
      /http_server_request_duration_seconds_bucket\{le="[^"]+",http_request_method="POST",http_route="\/producer\/messages",http_response_status_code="200"\}/,
    );
    expect(metrics).toContain('nodejs_eventloop_lag_seconds');
  });

  it('answers 413 above 64 KiB, 415 for a non-JSON body and 404 elsewhere', async () => {
    app = await buildTestProducer();
    const large = await app.inject({
      method: 'POST',
      url: '/producer/messages',
      headers: json,
      payload: JSON.stringify({ id: 'm', payload: 'x'.repeat(66_000) }),
    });
    expect(large.statusCode).toBe(413);
    const form = await app.inject({
      method: 'POST',
      url: '/producer/messages',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'id=m&payload=p',
    });
    expect(form.statusCode).toBe(415);
    expect((await app.inject({ url: '/producer/other' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/producer/messages' })).statusCode).toBe(404);
  });
});
