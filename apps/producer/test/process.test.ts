// The built server as Kubernetes runs it: `node dist/server.js`, configured by the environment.
import { fileURLToPath } from 'node:url';
import { spawnNodeService, type LogLine, type NodeService } from '@s2s/test-support/node-service';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { IDENTITY_ENV } from './helpers.js';

const serverPath = fileURLToPath(new URL('../dist/server.js', import.meta.url));
let spawned: NodeService | undefined;
afterEach(() => {
  spawned?.child.kill('SIGKILL');
  spawned = undefined;
});

function startServer(env: Record<string, string>): NodeService {
  spawned = spawnNodeService({
    args: ['--enable-source-maps', serverPath],
    env: { PATH: process.env['PATH'] ?? '', ...IDENTITY_ENV, HOST: '127.0.0.1', PORT: '0', ...env },
  });
  return spawned;
}

describe('producer process', () => {
  it('on SIGTERM turns /readyz 503 at once, finishes the in-flight delayed call and exits 0', async () => {
    const server = startServer({ SHUTDOWN_DELAY_MS: '1000' });
    const origin = await server.origin;
    expect((await request(`${origin}/readyz`)).statusCode).toBe(200);

    const inFlight = request(`${origin}/producer/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'slow', payload: 'drain me', delay: 2500 }),
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    server.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 100));

    const readyz = await request(`${origin}/readyz`, { reset: true });
    expect(readyz.statusCode).toBe(503);
    await readyz.body.dump();
    // Still serving during SHUTDOWN_DELAY_MS.
    const livez = await request(`${origin}/livez`, { reset: true });
    expect(livez.statusCode).toBe(200);
    await livez.body.dump();

    const answer = await inFlight;
    expect(answer.statusCode).toBe(200);
    expect(await answer.body.json()).toMatchObject({ id: 'slow', received: 'drain me' });
    expect(await server.exit).toBe(0);
  });

  it('on SIGTERM with a MAX_DELAY_MS call in flight, drains until it completes and exits 0', async () => {
    // A short MAX_DELAY_MS keeps the test fast; the drain is derived from it, so the same holds
    // for the 30 s of the clusters (tests/deploy checks their grace periods).
    const server = startServer({ MAX_DELAY_MS: '3000', SHUTDOWN_DELAY_MS: '200' });
    const origin = await server.origin;
    const started = Date.now();
    const inFlight = request(`${origin}/producer/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'longest', payload: 'all of it', delay: 3000 }),
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    server.child.kill('SIGTERM');
    const shutdown = await server.waitForLog(
      (line) => line.msg?.startsWith('shutdown started') === true,
    );
    expect(shutdown['drainTimeoutMs']).toBeGreaterThanOrEqual(3000);

    const answer = await inFlight;
    expect(answer.statusCode).toBe(200);
    expect(await answer.body.json()).toMatchObject({ id: 'longest', received: 'all of it' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
    expect(await server.exit).toBe(0);
  });

  it('refuses to start on an invalid variable, naming it on stderr without a stack trace', async () => {
    const server = startServer({ MAX_DELAY_MS: 'abc' });
    const code = await server.exit;
    expect(code).not.toBe(0);
    expect(server.stderr()).toContain('MAX_DELAY_MS');
    expect(server.stderr()).not.toMatch(/^\s+at /m);
  });

  it('refuses FAULTS_ENABLED values other than true/false/1/0', async () => {
    const server = startServer({ FAULTS_ENABLED: 'yes' });
    expect(await server.exit).not.toBe(0);
    expect(server.stderr()).toContain('FAULTS_ENABLED');
  });

  // stdout is written in batches (service-kit's LOG_FLUSH_MS / LOG_BATCH_BYTES): a quiet server
  // still shows its line within the flush interval, and a SIGTERM right after a burst loses none.
  it("writes a quiet request's access line within the flush interval, and every line of a burst by exit", async () => {
    const server = startServer({ SHUTDOWN_DELAY_MS: '0', LOG_LEVEL: 'info' });
    const origin = await server.origin;
    const send = (id: string): Promise<number> =>
      request(`${origin}/producer/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': id },
        body: JSON.stringify({ id, payload: 'log me' }),
      }).then(async (answer) => {
        await answer.body.dump();
        return answer.statusCode;
      });
    const accessLine = (id: string) => (line: LogLine) =>
      line.msg === 'request completed' && line['reqId'] === id;

    expect(await send('quiet-1')).toBe(200);
    const sent = Date.now();
    await server.waitForLog(accessLine('quiet-1'), 2_000);
    // LOG_FLUSH_MS (100 ms) plus the pipe and this test's event loop.
    expect(Date.now() - sent).toBeLessThan(1_000);

    const ids = Array.from({ length: 300 }, (_, index) => `burst-${index}`);
    const statuses = await Promise.all(ids.map(send));
    expect(statuses.every((status) => status === 200)).toBe(true);
    // At once, no wait: the lines still in the buffer must be written on the way out.
    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(0);
    const logged = new Set(
      server.logs
        .filter((line) => line.msg === 'request completed')
        .map((line) => String(line['reqId'])),
    );
    expect(ids.filter((id) => !logged.has(id))).toEqual([]);
    expect(server.logs.some((line) => line.msg === 'server closed')).toBe(true);
  });
});
