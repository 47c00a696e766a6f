import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, sendJson, startStub, type StubServer } from './stub-server.js';

// The built CLI, as `pnpm loadtest` runs it (turbo builds the package before its tests).
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function runCli(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * For the tests about something else than the generator's own validity: on a 2-core machine
 * shared with other builds (load average above 8 seen), a 100/s run's send-lag p99 can pass the
 * 50 ms default, and then the exit status would be 3 whatever the test is about.
 */
const RELAXED = ['--max-send-lag', '10s'];

let stub: StubServer;
let dir: string;
beforeAll(async () => {
  stub = await startStub((_req, res, arrival) => {
    // 5 ms answers; every tenth one is the caller reporting a producer 5xx.
    setTimeout(() => {
      if (arrival % 10 === 0) sendJson(res, 502, envelope('upstream_error', 'closed'));
      else sendJson(res, 200, envelope('ok', 'closed'));
    }, 5);
  });
  dir = await mkdtemp(join(tmpdir(), 's2s-loadtest-cli-'));
});
afterAll(async () => {
  await stub.close();
  await rm(dir, { recursive: true, force: true });
});

describe('s2s-loadtest command line', () => {
  it.each([
    [['--rate', '10', '--duration', '1s'], '--url'],
    [['--url', 'http://127.0.0.1:1', '--duration', '1s'], '--rate'],
    [['--url', 'http://127.0.0.1:1', '--rate', '10'], '--duration'],
    [['--url', 'http://127.0.0.1:1', '--rate', '10', '--duration', '1s', '--rat', '5'], '--rat'],
    [['--url', 'http://127.0.0.1:1', '--rate', 'fast', '--duration', '1s'], '--rate'],
    [['--url', 'http://127.0.0.1:1', '--rate', '10', '--duration', 'soon'], '--duration'],
    [['--url', 'not a url', '--rate', '10', '--duration', '1s'], '--url'],
    [
      ['--url', 'http://127.0.0.1:1', '--rate', '10', '--duration', '1s', '--connections', '0'],
      '--connections',
    ],
    [
      ['--url', 'http://127.0.0.1:1', '--rate', '10', '--duration', '1s', '--response-code', '700'],
      '--response-code',
    ],
    [
      ['--url', 'http://127.0.0.1:1', '--rate', '10', '--duration', '1s', '--delay', '-5'],
      '--delay',
    ],
    [
      ['--url', 'http://127.0.0.1:1', '--rate', '10', '--duration', '1s', '--slo', 'p42=1s'],
      '--slo',
    ],
    [
      [
        '--url',
        'http://127.0.0.1:1',
        '--rate',
        '10',
        '--duration',
        '1s',
        '--breaker-events',
        'ftp://x/caller/events',
      ],
      '--breaker-events',
    ],
    [
      ['--url', 'http://127.0.0.1:1', '--rate', '10', '--duration', '1s', '--warmup', 'later'],
      '--warmup',
    ],
    [['--url', 'http://127.0.0.1:1', '--rate', '10', '--duration', '1s', '--json'], '--json'],
  ])('exits 2 and names the flag for %j', async (args, flag) => {
    const run = await runCli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(flag);
    expect(run.stdout).toBe('');
  });

  it('prints the usage with --help and exits 0', async () => {
    const run = await runCli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: s2s-loadtest --url URL/);
    expect(run.stdout).toMatch(
      /0 passed, 1 an SLO objective failed.*\n2 bad or missing flag.*3 the measurement is invalid/s,
    );
    for (const flag of [
      '--url',
      '--rate',
      '--duration',
      '--connections',
      '--delay',
      '--response-code',
      '--json',
      '--html',
      '--slo',
      '--warmup',
      '--max-send-lag',
      '--workers',
      '--worker',
      '--result',
      '--start-at',
      '--breaker-events',
      '--run-id',
      'merge FILE',
      'SIDECAR_QUIT_URL',
    ]) {
      expect(run.stdout).toContain(flag);
    }
  });

  it('writes the JSON report with the contract keys and prints a summary', async () => {
    const file = join(dir, 'nested', 'result.json');
    const run = await runCli([
      '--url',
      stub.url,
      '--rate',
      '100',
      '--duration',
      '1s',
      '--warmup',
      '0',
      ...RELAXED,
      '--json',
      file,
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('p99');
    expect(run.stdout).toContain('upstream_error');
    const report = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(report)).toEqual(
      expect.arrayContaining([
        'requests',
        'rate',
        'targetRate',
        'latencyMs',
        'statusCounts',
        'outcomeCounts',
        'breakerTransitions',
      ]),
    );
    expect(report.requests).toBe(100);
    expect(report.targetRate).toBe(100);
    expect(typeof report.rate).toBe('number');
    expect(Object.keys(report.latencyMs as object)).toEqual(
      expect.arrayContaining(['p50', 'p90', 'p99', 'p999', 'max']),
    );
    expect(report.statusCounts).toEqual({ '200': 90, '502': 10 });
    expect(report.outcomeCounts).toEqual({ ok: 90, upstream_error: 10 });
    expect(report.breakerTransitions).toEqual([]);
  });

  it('exits 1 and names the objective when the SLO is broken', async () => {
    const run = await runCli([
      '--url',
      stub.url,
      '--rate',
      '100',
      '--duration',
      '1s',
      '--warmup',
      '0',
      ...RELAXED,
      '--slo',
      'p99=1ms,errors=50%',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('SLO broken: p99=1ms');
    expect(run.stderr).not.toContain('errors=50%');
  });

  it('exits 0 when the SLO holds, and writes JSON to stdout with --json -', async () => {
    const run = await runCli([
      '--url',
      stub.url,
      '--rate',
      '50',
      '--duration',
      '1s',
      '--warmup',
      '0',
      ...RELAXED,
      '--slo',
      'p99=5s,errors=20%',
      '--json',
      '-',
    ]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { slo: { passed: boolean }; requests: number };
    expect(report.slo.passed).toBe(true);
    expect(report.requests).toBe(50);
    expect(run.stderr).toContain('p99');
  });
});
