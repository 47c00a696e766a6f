// A load-test Job under a classic Istio sidecar completes only if the CLI stops the proxy:
// SIDECAR_QUIT_URL names the pilot-agent's quit endpoint, the CLI POSTs to it once it is done,
// whatever the result, and keeps its own exit status.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, sendJson, startStub, type StubServer } from './stub-server.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { timeout: 20_000, env: { ...process.env, ...env } },
      (error, _stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stderr });
      },
    );
  });
}

let target: StubServer;
let proxy: StubServer;
const quits: string[] = [];
beforeAll(async () => {
  target = await startStub((_req, res) => sendJson(res, 200, envelope('ok', 'closed')));
  // Stands in for pilot-agent's :15020: records what the CLI asked for.
  proxy = await startStub((req, res) => {
    quits.push(`${req.method} ${req.url}`);
    res.writeHead(200).end();
  });
});
afterAll(async () => {
  await Promise.all([target.close(), proxy.close()]);
});

describe('SIDECAR_QUIT_URL', () => {
  const quitUrl = () => `${proxy.url}/quitquitquit`;
  // A relaxed send-lag limit: on a busy machine the generator's own lag must not turn these
  // runs into exit 3 (invalid measurement); that is tested in cli.test.ts.
  const load = () => [
    '--url',
    target.url,
    '--rate',
    '20',
    '--duration',
    '1s',
    '--max-send-lag',
    '10s',
  ];

  it('asks the proxy to quit once after a passing run, and exits 0', async () => {
    quits.length = 0;
    const run = await runCli(load(), { SIDECAR_QUIT_URL: quitUrl() });
    expect(run.code, run.stderr).toBe(0);
    expect(quits).toEqual(['POST /quitquitquit']);
    expect(run.stderr).toContain('asked the sidecar to quit');
  });

  it('keeps the exit status of a broken SLO (1) and still stops the proxy', async () => {
    quits.length = 0;
    const run = await runCli([...load(), '--slo', 'p50=0ms'], { SIDECAR_QUIT_URL: quitUrl() });
    expect(run.code, run.stderr).toBe(1);
    expect(quits).toEqual(['POST /quitquitquit']);
  });

  it('stops the proxy after a usage error too (exit 2): a misconfigured Job must still end', async () => {
    quits.length = 0;
    const run = await runCli(['--rate', '5'], { SIDECAR_QUIT_URL: quitUrl() });
    expect(run.code).toBe(2);
    expect(quits).toEqual(['POST /quitquitquit']);
  });

  it('a proxy that is not there does not change the result', async () => {
    const run = await runCli(load(), { SIDECAR_QUIT_URL: 'http://127.0.0.1:1/quitquitquit' });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('could not ask the sidecar to quit');
  });

  it('unset: nothing is sent', async () => {
    quits.length = 0;
    const run = await runCli(load(), {});
    expect(run.code, run.stderr).toBe(0);
    expect(quits).toEqual([]);
  });

  it('a value that is not an http(s) URL exits 2 naming the variable', async () => {
    const run = await runCli(load(), { SIDECAR_QUIT_URL: 'ftp://x' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('SIDECAR_QUIT_URL');
  });
});
