import { afterEach, describe, expect, it } from 'vitest';
import { createServiceClient } from '../src/index.js';
import type { ServiceClient } from '../src/index.js';
import { json, startTestServer } from './test-server.js';
import type { TestServer } from './test-server.js';

let server: TestServer;
let client: ServiceClient;

afterEach(async () => {
  await client?.close();
  await server?.close();
});

describe('per-call deadline', () => {
  it('returns timeout near the deadline and the server sees the connection closed', async () => {
    let serverSawClose!: () => void;
    const closed = new Promise<void>((resolve) => (serverSawClose = resolve));
    server = await startTestServer((req) => {
      // Never answers; the client's deadline must end the call and close the socket.
      req.socket.once('close', () => serverSawClose());
    });
    client = createServiceClient({ origin: `http://127.0.0.1:${server.port}`, timeoutMs: 300 });

    const result = await client.call({ path: '/slow' });

    expect(result.outcome).toBe('timeout');
    expect(result.errorCode).toBe('TIMEOUT');
    expect(result.statusCode).toBeNull();
    expect(result.retried).toBe(false);
    expect(result.latencyMs).toBeGreaterThanOrEqual(290);
    expect(result.latencyMs).toBeLessThan(2500);
    await expect(withTimeout(closed, 3000)).resolves.toBe('done');
    expect(server.requests()).toBe(1); // timeouts are never retried
  });

  it('aborts only the call that ran out of time, not others in flight', async () => {
    server = await startTestServer((req, res) => {
      if (req.url === '/answers-late') setTimeout(() => json(res, 200, { late: true }), 500);
    });
    client = createServiceClient({ origin: `http://127.0.0.1:${server.port}`, timeoutMs: 3000 });

    const [slow, hung] = await Promise.all([
      client.call({ path: '/answers-late' }),
      client.call({ path: '/never', timeoutMs: 200 }),
    ]);

    expect(hung.outcome).toBe('timeout');
    expect(slow.outcome).toBe('ok');
    expect(slow.body).toEqual({ late: true });
  });

  it('lets a per-call timeoutMs above the client default run to its own deadline', async () => {
    server = await startTestServer((_req, res) => {
      setTimeout(() => json(res, 200, { late: true }), 1300);
    });
    client = createServiceClient({ origin: `http://127.0.0.1:${server.port}`, timeoutMs: 200 });

    const result = await client.call({ path: '/', timeoutMs: 3000 });

    expect(result.outcome).toBe('ok');
  });

  it('never queues a call for a socket: beyond the pool it is overloaded at once, not a timeout', async () => {
    // Before the in-flight limit, this call waited in the pool and timed out at its deadline, which
    // blamed the wait on the upstream.
    server = await startTestServer((_req, res) => {
      setTimeout(() => json(res, 200, {}), 800);
    });
    client = createServiceClient({ origin: `http://127.0.0.1:${server.port}`, connections: 1 });

    const holdsTheSocket = client.call({ path: '/first' });
    const second = await client.call({ path: '/second', timeoutMs: 200 });

    expect(second.outcome).toBe('overloaded');
    expect(second.latencyMs).toBeLessThan(150);
    expect((await holdsTheSocket).outcome).toBe('ok');
    expect(server.requests()).toBe(1);
  });

  it('times out a body that stalls after the headers', async () => {
    server = await startTestServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"partial":');
    });
    client = createServiceClient({ origin: `http://127.0.0.1:${server.port}`, timeoutMs: 300 });

    const result = await client.call({ path: '/stalls' });

    expect(result.outcome).toBe('timeout');
    expect(result.errorCode).toBe('TIMEOUT');
  });
});

function withTimeout(promise: Promise<void>, ms: number): Promise<string> {
  return Promise.race([
    promise.then(() => 'done'),
    new Promise<string>((resolve) => setTimeout(() => resolve('timed out'), ms).unref()),
  ]);
}
