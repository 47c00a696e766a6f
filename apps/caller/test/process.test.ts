// The built caller as Kubernetes runs it: `node dist/server.js`, configured by the environment,
// relaying to a real producer on 127.0.0.1.
import { fileURLToPath } from 'node:url';
import { spawnNodeService, type NodeService } from '@s2s/test-support/node-service';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CALLER_IDENTITY_ENV,
  PRODUCER_HOST,
  PRODUCER_URL,
  startProducer,
  type RunningProducer,
} from './helpers.js';

const serverPath = fileURLToPath(new URL('../dist/server.js', import.meta.url));
let spawned: NodeService | undefined;
let producer: RunningProducer | undefined;
afterEach(async () => {
  spawned?.child.kill('SIGKILL');
  spawned = undefined;
  await producer?.app.close();
  producer = undefined;
});

function startCaller(env: Record<string, string>): NodeService {
  spawned = spawnNodeService({
    args: ['--enable-source-maps', serverPath],
    env: {
      PATH: process.env['PATH'] ?? '',
      ...CALLER_IDENTITY_ENV,
      HOST: '127.0.0.1',
      PORT: '0',
      ...env,
    },
  });
  return spawned;
}

describe('caller process', () => {
  it('on SIGTERM turns /readyz 503 at once, completes the in-flight delayed call with 200 and exits 0', async () => {
    producer = await startProducer();
    const caller = startCaller({
      PRODUCER_URL,
      PRODUCER_CONNECT_TO: `${PRODUCER_HOST}:8080:127.0.0.1:${producer.port}`,
      SHUTDOWN_DELAY_MS: '1000',
    });
    const origin = await caller.origin;
    expect((await request(`${origin}/readyz`, { reset: true })).statusCode).toBe(200);

    const inFlight = request(`${origin}/caller/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payload: 'drain me', delay: 2000 }),
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    caller.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 100));

    const readyz = await request(`${origin}/readyz`, { reset: true });
    expect(readyz.statusCode).toBe(503);
    await readyz.body.dump();

    const answer = await inFlight;
    expect(answer.statusCode).toBe(200);
    expect(await answer.body.json()).toMatchObject({ outcome: 'ok', received: 'drain me' });
    expect(await caller.exit).toBe(0);
  });

  it('refuses to start with PRODUCER_TIMEOUT_MS=abc, naming the variable on stderr', async () => {
    const caller = startCaller({ PRODUCER_TIMEOUT_MS: 'abc' });
    expect(await caller.exit).not.toBe(0);
    expect(caller.stderr()).toContain('PRODUCER_TIMEOUT_MS');
    expect(caller.stderr()).not.toMatch(/^\s+at /m);
  });

  it('refuses to start with a malformed PRODUCER_CONNECT_TO, naming the variable', async () => {
    const caller = startCaller({ PRODUCER_CONNECT_TO: 'only-a-host' });
    expect(await caller.exit).not.toBe(0);
    expect(caller.stderr()).toContain('PRODUCER_CONNECT_TO');
  });
});
