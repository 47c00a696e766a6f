import { afterEach, describe, expect, it } from 'vitest';
import { createServiceClient } from '../src/index.js';
import type { ServiceClient } from '../src/index.js';
import { freePort } from '@s2s/test-support/free-port';
import { json, rotatingConnector, startTestServer } from './test-server.js';
import type { TestServer } from './test-server.js';

let server: TestServer | undefined;
let client: ServiceClient | undefined;

afterEach(async () => {
  await client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

describe('unreachable upstream', () => {
  it('gives unreachable with ECONNREFUSED for a refused port, after its retries', async () => {
    const port = await freePort();
    client = createServiceClient({ origin: `http://127.0.0.1:${port}` });

    const result = await client.call({ path: '/' });

    expect(result).toMatchObject({
      outcome: 'unreachable',
      errorCode: 'ECONNREFUSED',
      statusCode: null,
    });
    expect(result.retried).toBe(true);
  });

  it('gives unreachable for a name that does not resolve', async () => {
    client = createServiceClient({
      origin: 'http://sample-producer.nowhere.invalid:8080',
      connectTimeoutMs: 2000,
    });

    const result = await client.call({ path: '/' });

    expect(result.outcome).toBe('unreachable');
    expect(['ENOTFOUND', 'EAI_AGAIN']).toContain(result.errorCode);
    expect(result.body).toBeNull();
  });
});

describe('retries', () => {
  it('retries a refused connection once, on a new connection, and succeeds on the other of two producers', async () => {
    const deadPort = await freePort();
    server = await startTestServer((_req, res) => json(res, 200, { ok: true }));
    // Round robin (IPVS-style): the first connection goes to the dead endpoint, the next to the live one.
    const rotation = rotatingConnector(() => [deadPort, server!.port], 'round-robin');
    client = createServiceClient({
      origin: 'http://sample-producer.istio-apps.svc.clusterset.local:8080',
      connect: rotation.connect,
    });

    const result = await client.call({ path: '/producer/messages', json: { id: 'a' } });

    expect(result).toMatchObject({ outcome: 'ok', statusCode: 200, retried: true });
    expect(Object.fromEntries(rotation.targets)).toEqual({ [deadPort]: 1, [server.port]: 1 });
    expect(server.requests()).toBe(1);
    expect(client.breakerState()).toBe('closed');
  });

  it('retries at most twice: a third refusal ends the call as unreachable', async () => {
    const [deadA, deadB] = [await freePort(), await freePort()];
    const rotation = rotatingConnector(() => [deadA, deadB], 'round-robin');
    client = createServiceClient({
      origin: 'http://producer.test:8080',
      connect: rotation.connect,
    });

    const result = await client.call({ path: '/' });

    expect(result).toMatchObject({
      outcome: 'unreachable',
      errorCode: 'ECONNREFUSED',
      retried: true,
    });
    expect([...rotation.targets.values()].reduce((a, b) => a + b, 0)).toBe(3);
  });

  it('never retries a request written on a reused socket that the server then closed (the producer sees it once)', async () => {
    // The idle-close race: the server drops a kept-alive socket as the next request arrives. The
    // request was written, so the producer may have acted on it: never retried (README, Retries).
    server = await startTestServer((req, res) => {
      if (server!.priorRequestsOn(req) > 0) req.socket.destroy();
      else json(res, 200, { ok: true });
    });
    // One socket, so the second call must go out on the kept-alive one.
    client = createServiceClient({ origin: `http://127.0.0.1:${server.port}`, connections: 1 });
    expect((await client.call({ path: '/' })).retried).toBe(false);

    const result = await client.call({ path: '/', json: { id: 'b' } });

    expect(result).toMatchObject({ outcome: 'unreachable', retried: false });
    expect(server.accepted()).toBe(1);
    expect(server.requests()).toBe(2);
  });

  it('does not retry when a fresh connection breaks (the server may have acted on it)', async () => {
    server = await startTestServer((req) => req.socket.destroy());
    client = createServiceClient({ origin: `http://127.0.0.1:${server.port}` });

    const result = await client.call({ path: '/', json: { id: 'a' } });

    expect(result).toMatchObject({ outcome: 'unreachable', retried: false });
    expect(['UND_ERR_SOCKET', 'ECONNRESET']).toContain(result.errorCode);
    expect(server.requests()).toBe(1);
  });

  it('never retries 5xx answers', async () => {
    server = await startTestServer((_req, res) => json(res, 503, {}));
    client = createServiceClient({ origin: `http://127.0.0.1:${server.port}` });

    const result = await client.call({ path: '/' });

    expect(result).toMatchObject({ outcome: 'upstream_error', statusCode: 503, retried: false });
    expect(server.requests()).toBe(1);
  });

  it('stops retrying when the retry budget is spent', async () => {
    const port = await freePort();
    // Floor of 0.4/s over 10 s = 4 retries, two per call (both connects refused); ratio 0 adds none.
    client = createServiceClient({
      origin: `http://127.0.0.1:${port}`,
      failureThreshold: 100,
      retryBudget: { ratio: 0, minRetriesPerSecond: 0.4, windowMs: 10_000 },
    });

    const retried: boolean[] = [];
    for (let i = 0; i < 5; i++) retried.push((await client.call({ path: '/' })).retried);

    expect(retried).toEqual([true, true, false, false, false]);
  });

  it('does not retry at all with retryBudget: false', async () => {
    const port = await freePort();
    client = createServiceClient({ origin: `http://127.0.0.1:${port}`, retryBudget: false });

    expect((await client.call({ path: '/' })).retried).toBe(false);
  });
});
