// A caller with FAULT_INJECTION_TOKEN set answers 403 to --delay/--response-code without the
// token: the CLI sends it from its own FAULT_INJECTION_TOKEN (never a flag, which `ps` shows).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, sendJson, startStub, type StubServer } from './stub-server.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function runCli(args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    if (!('FAULT_INJECTION_TOKEN' in env)) delete childEnv['FAULT_INJECTION_TOKEN'];
    execFile(process.execPath, [cli, ...args], { timeout: 20_000, env: childEnv }, (error) => {
      resolve(error ? (typeof error.code === 'number' ? error.code : -1) : 0);
    });
  });
}

let target: StubServer;
const tokens: (string | undefined)[] = [];
beforeAll(async () => {
  target = await startStub((req, res) => {
    const token = req.headers['x-fault-injection-token'];
    tokens.push(Array.isArray(token) ? token.join(',') : token);
    sendJson(res, 200, envelope('ok', 'closed'));
  });
});
afterAll(() => target.close());

describe('FAULT_INJECTION_TOKEN', () => {
  const load = () => [
    '--url',
    target.url,
    '--rate',
    '20',
    '--duration',
    '500ms',
    '--response-code',
    '500',
    '--max-send-lag',
    '10s',
  ];

  it('is sent as x-fault-injection-token with every request', async () => {
    tokens.length = 0;
    expect(await runCli(load(), { FAULT_INJECTION_TOKEN: 'operator-secret' })).toBe(0);
    expect(tokens.length).toBeGreaterThan(0);
    expect(new Set(tokens)).toEqual(new Set(['operator-secret']));
  });

  it('unset: no token header at all', async () => {
    tokens.length = 0;
    expect(await runCli(load(), {})).toBe(0);
    expect(tokens.length).toBeGreaterThan(0);
    expect(new Set(tokens)).toEqual(new Set([undefined]));
  });
});
