// The built server as Kubernetes runs it: `node dist/server.js`, configured by the environment.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { IDENTITY_ENV } from './helpers.js';

const serverPath = fileURLToPath(new URL('../dist/server.js', import.meta.url));
let child: ChildProcess | undefined;
afterEach(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  child = undefined;
});

function startServer(env: Record<string, string>): {
  process: ChildProcess;
  origin: Promise<string>;
  stderr: () => string;
  exit: Promise<number | null>;
} {
  const proc = spawn(process.execPath, ['--enable-source-maps', serverPath], {
    env: { PATH: process.env['PATH'] ?? '', ...IDENTITY_ENV, HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let stdout = '';
  let stderr = '';
  proc.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = once(proc, 'exit').then(([code]) => code as number | null);
  const origin = new Promise<string>((resolve, reject) => {
    proc.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (match?.[1]) resolve(match[1]);
    });
    void exit.then(() => reject(new Error(`server exited early: ${stderr}`)));
  });
  return { process: proc, origin, stderr: () => stderr, exit };
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
    server.process.kill('SIGTERM');
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

  it('refuses to start on an invalid variable, naming it on stderr without a stack trace', async () => {
    const server = startServer({ MAX_DELAY_MS: 'abc' });
    server.origin.catch(() => undefined);
    const code = await server.exit;
    expect(code).not.toBe(0);
    expect(server.stderr()).toContain('MAX_DELAY_MS');
    expect(server.stderr()).not.toMatch(/^\s+at /m);
  });

  it('refuses FAULTS_ENABLED values other than true/false/1/0', async () => {
    const server = startServer({ FAULTS_ENABLED: 'yes' });
    server.origin.catch(() => undefined);
    expect(await server.exit).not.toBe(0);
    expect(server.stderr()).toContain('FAULTS_ENABLED');
  });
});
