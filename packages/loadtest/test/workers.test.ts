// Scale-out through the command line, as a user runs it: --workers on one machine, --result and
// `merge` for workers anywhere, and the exit status of an invalid measurement.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseCommandLine } from '../src/args.js';
import { runLocalWorkers, WorkerFailure } from '../src/local-workers.js';
import type { LoadReport } from '../src/result-types.js';
import { BreakerFeed, envelope, sendJson, startStub, type StubServer } from './stub-server.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], input?: string): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [cli, ...args],
      { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

// Not about the generator's own validity (a busy 2-core machine can lag past 50 ms): see the
// exit-3 test below for that.
const RELAXED = ['--max-send-lag', '10s'];
/** Tests that start several Node processes: each takes seconds on a machine at load 20. */
const SEVERAL_PROCESSES_MS = 120_000;

/** Every request id the stub saw: `lt-<run>-<k>`. */
let ids: string[] = [];
let stub: StubServer;
let dir: string;
beforeAll(async () => {
  stub = await startStub((_req, res, arrival, body) => {
    ids.push((JSON.parse(body) as { id: string }).id);
    const producer = { cluster: arrival % 2 === 0 ? 'cluster-1' : 'cluster-2', pod: 'p' };
    setTimeout(() => sendJson(res, 200, envelope('ok', 'closed', 'x', producer)), 2);
  });
  dir = await mkdtemp(join(tmpdir(), 's2s-loadtest-workers-test-'));
});
beforeEach(() => {
  ids = [];
});
afterAll(async () => {
  await stub.close();
  await rm(dir, { recursive: true, force: true });
});

describe('--workers N on one machine', () => {
  it(
    'splits one schedule between 2 processes: every request id once, rate × duration in all, both contributed',
    async () => {
      const run = await runCli([
        '--url',
        stub.url,
        '--rate',
        '200',
        '--duration',
        '1s',
        '--warmup',
        '0',
        '--workers',
        '2',
        ...RELAXED,
        '--json',
        '-',
      ]);
      expect(run.code, run.stderr).toBe(0);
      const report = JSON.parse(run.stdout) as LoadReport;
      expect(report.requests).toBe(200);
      expect(report.targetRate).toBe(200);
      expect(report.outcomeCounts).toEqual({ ok: 200 });
      expect(report.workers.count).toBe(2);
      expect(report.workers.results.map((w) => [w.index, w.requests, w.rate])).toEqual([
        [0, 100, 100],
        [1, 100, 100],
      ]);
      // One schedule: request k (0..199) exactly once, one run id shared by both workers.
      const parsed = ids.map((id) => /^lt-([A-Za-z0-9._-]+)-(\d+)$/.exec(id));
      expect(new Set(parsed.map((m) => m?.[1])).size).toBe(1);
      const numbers = parsed.map((m) => Number(m?.[2])).sort((a, b) => a - b);
      expect(numbers).toEqual(Array.from({ length: 200 }, (_, k) => k));
      expect(report.byProducer.map((p) => [p.cluster, p.requests])).toEqual([
        ['cluster-1', 100],
        ['cluster-2', 100],
      ]);
      expect(run.stderr).toContain('over 2 workers (2 merged)');
    },
    SEVERAL_PROCESSES_MS,
  );

  it('fails the run with the worker message when a worker does not deliver', async () => {
    // A stand-in for the CLI that fails like a worker that crashed.
    const fake = join(dir, 'crashing-worker.mjs');
    await writeFile(fake, "process.stderr.write('worker blew up'); process.exit(7);\n");
    const parsed = parseCommandLine(['--url', stub.url, '--rate', '20', '--duration', '1s']);
    if (parsed.command !== 'run') throw new Error('expected a run');
    const failure = runLocalWorkers(parsed.options, 2, fake);
    await expect(failure).rejects.toThrow(WorkerFailure);
    await expect(failure).rejects.toThrow(/worker 0\/2 exited with 7: worker blew up/);
    await expect(failure).rejects.toThrow(/worker 1\/2 exited with 7/);
  });
});

describe('a 2-worker run with a breaker cycle', () => {
  it(
    "reports the caller's own record of a cycle inside one second that the envelopes miss, once, in JSON and HTML (test-artifacts/two-workers-report.html)",
    async () => {
      // The caller's breaker by the stub's clock, streamed on GET /caller/events as the caller
      // does: closed; open at 0.7 s; at 1.1 s a half-open trial that fails at once (open again
      // in the same tick, so no answer can carry half_open); half_open at 1.5 s; closed at 1.55 s.
      const breaker = new BreakerFeed('closed');
      const timers: NodeJS.Timeout[] = [];
      let firstArrival = 0;
      const cycling = await startStub(
        (_req, res) => {
          const now = Date.now();
          if (firstArrival === 0) {
            firstArrival = now;
            timers.push(
              setTimeout(() => breaker.set('open'), 700),
              setTimeout(() => {
                breaker.set('half_open');
                breaker.set('open');
              }, 1100),
              setTimeout(() => breaker.set('half_open'), 1500),
              setTimeout(() => breaker.set('closed'), 1550),
            );
          }
          const at = now - firstArrival;
          const cluster = at % 2 < 1 ? 'cluster-1' : 'cluster-2';
          const state = breaker.state;
          const answered = state === 'closed';
          setTimeout(
            () =>
              sendJson(
                res,
                answered ? 200 : 503,
                envelope(
                  answered ? 'ok' : 'circuit_open',
                  state,
                  'x',
                  answered ? { cluster, pod: `${cluster}-a` } : null,
                ),
              ),
            2,
          );
        },
        { breaker },
      );
      try {
        const html = fileURLToPath(
          new URL('../test-artifacts/two-workers-report.html', import.meta.url),
        );
        const run = await runCli([
          '--url',
          cycling.url,
          '--rate',
          '200',
          '--duration',
          '2500ms',
          '--warmup',
          '0',
          '--workers',
          '2',
          // One connection per worker keeps each worker's answers in the stub's order.
          '--connections',
          '1',
          ...RELAXED,
          '--json',
          '-',
          '--html',
          html,
        ]);
        expect(run.code, run.stderr).toBe(0);
        const report = JSON.parse(run.stdout) as LoadReport;
        expect(report.requests).toBe(500);
        // One record for the run (the --workers parent read the stream), each transition once.
        expect(report.callerBreaker).toMatchObject({
          url: `${cycling.url}/caller/events`,
          recorded: true,
          error: null,
          initialState: 'closed',
          finalState: 'closed',
        });
        expect(report.breakerTransitions.map((t) => `${t.from}->${t.to}`)).toEqual([
          'closed->open',
          'open->half_open',
          'half_open->open',
          'open->half_open',
          'half_open->closed',
        ]);
        // open -> half_open -> open inside one second (here: the same tick).
        const [, opened, reopened] = report.breakerTransitions;
        expect(reopened!.atMs - opened!.atMs).toBeLessThan(1000);
        expect(report.breakerTransitions.every((t) => typeof t.at === 'string')).toBe(true);
        // The envelopes never carried that half_open: their inferred view misses the failed trial.
        const inferred = report.envelopeBreakerTransitions.map((t) => `${t.from}->${t.to}`);
        expect(inferred).not.toContain('half_open->open');
        expect(inferred[0]).toBe('closed->open');
        expect(report.byProducer.map((p) => p.cluster)).toEqual(['cluster-1', 'cluster-2', null]);
        expect(run.stderr).toContain("breaker (caller's record");
        expect(run.stderr).toContain('breaker seen in the envelopes (inferred');
        const page = await readFile(html, 'utf8');
        expect(page).toContain('over 2 workers');
        expect(page).toContain('the caller&#39;s own record');
        // The caller's table: the failed trial's two rows.
        expect(page).toMatch(/<td>open<\/td><td>half_open<\/td>/);
        expect(page).toMatch(/<td>half_open<\/td><td>open<\/td>/);
        expect(breaker.clients).toBe(0);
      } finally {
        for (const timer of timers) clearTimeout(timer);
        await cycling.close();
      }
    },
    SEVERAL_PROCESSES_MS,
  );

  it(
    'says plainly when the events stream is unreachable, rather than "no transitions"',
    async () => {
      // The shared stub answers GET /caller/events with 404, as a server that is not the caller.
      const run = await runCli([
        '--url',
        stub.url,
        '--rate',
        '100',
        '--duration',
        '500ms',
        '--warmup',
        '0',
        ...RELAXED,
        '--json',
        '-',
      ]);
      expect(run.code, run.stderr).toBe(0);
      const report = JSON.parse(run.stdout) as LoadReport;
      expect(report.callerBreaker?.recorded).toBe(false);
      expect(report.callerBreaker?.error).toMatch(/caller\/events: HTTP 404/);
      expect(report.breakerTransitions).toEqual([]);
      expect(run.stderr).toMatch(/breaker \(caller's record\): NOT RECORDED: GET .*HTTP 404/);
      const refused = await runCli([
        '--url',
        stub.url,
        '--rate',
        '100',
        '--duration',
        '500ms',
        '--warmup',
        '0',
        '--breaker-events',
        'http://127.0.0.1:1/caller/events',
        ...RELAXED,
        '--html',
        join(dir, 'unreachable.html'),
      ]);
      expect(refused.code, refused.stderr).toBe(0);
      expect(refused.stdout).toMatch(
        /NOT RECORDED: GET http:\/\/127\.0\.0\.1:1\/caller\/events: ECONNREFUSED/,
      );
      const page = await readFile(join(dir, 'unreachable.html'), 'utf8');
      expect(page).toContain('breaker record is missing');
      expect(page).toContain('ECONNREFUSED');
      expect(page).not.toContain('No breaker transitions');
    },
    SEVERAL_PROCESSES_MS,
  );
});

describe('--result and merge', () => {
  it(
    'two workers anywhere: results on stdout, merged by `merge` into one report with the SLO gate',
    async () => {
      // Far enough ahead for two Node processes to start on a busy machine.
      const startAt = String(Date.now() + 4000);
      const worker = (index: number): Promise<CliRun> =>
        runCli([
          '--url',
          stub.url,
          '--rate',
          '100',
          '--duration',
          '1s',
          '--warmup',
          '0',
          '--worker',
          `${index}/2`,
          '--start-at',
          startAt,
          '--run-id',
          'merge-test',
          ...RELAXED,
          '--result',
          '-',
        ]);
      const [zero, one] = await Promise.all([worker(0), worker(1)]);
      expect(zero.code, zero.stderr).toBe(0);
      expect(one.code, one.stderr).toBe(0);
      // The summary went to stderr; stdout is one result line.
      expect(zero.stderr).toContain('generator: send lag');
      expect(zero.stderr).toContain('(worker 0 of 2: its share only)');
      expect(zero.stdout.trimEnd().split('\n')).toHaveLength(1);
      const file0 = join(dir, 'w0.json');
      await writeFile(file0, zero.stdout);
      // The other one as part of a log, as `kubectl logs` would show it.
      const log1 = join(dir, 'w1.log');
      await writeFile(log1, `${one.stderr}${one.stdout}`);
      expect(ids.filter((id) => id.startsWith('lt-merge-test-'))).toHaveLength(100);

      const jsonFile = join(dir, 'merged.json');
      const merged = await runCli([
        'merge',
        file0,
        log1,
        ...RELAXED,
        '--json',
        jsonFile,
        '--html',
        join(dir, 'merged.html'),
        '--slo',
        'p99<10s,errors<0.1%,rate>=50%',
      ]);
      expect(merged.code, merged.stderr).toBe(0);
      const report = JSON.parse(await readFile(jsonFile, 'utf8')) as LoadReport;
      expect(report.requests).toBe(100);
      expect(report.workers.results.map((w) => w.requests)).toEqual([50, 50]);
      expect(report.slo?.passed).toBe(true);
      expect(report.generator.valid).toBe(true);
      expect(merged.stdout).toContain('over 2 workers (2 merged)');
      const html = await readFile(join(dir, 'merged.html'), 'utf8');
      expect(html).toContain('measurement valid');
      expect(html).toContain('cluster-1');

      // An objective that fails: exit 1, printed with its measured value.
      const failing = await runCli(['merge', file0, log1, ...RELAXED, '--slo', 'p50<0.001ms']);
      expect(failing.code).toBe(1);
      expect(failing.stderr).toMatch(
        /SLO broken: p50<0\.001ms \(measured [\d.]+ms, limit < 0\.001ms\)/,
      );

      // Only one of the two workers: invalid (3), whatever the SLO says.
      const missing = await runCli(['merge', file0, ...RELAXED, '--slo', 'p99<10s']);
      expect(missing.code).toBe(3);
      expect(missing.stderr).toContain('no result from worker 1 of 2');

      // Results from stdin, and the same file twice (usage: 2).
      const fromStdin = await runCli(['merge', '-', log1, ...RELAXED], zero.stdout);
      expect(fromStdin.code, fromStdin.stderr).toBe(0);
      const twice = await runCli(['merge', file0, file0]);
      expect(twice.code).toBe(2);
      expect(twice.stderr).toContain('worker 0 of 2 is there twice');
      const notFound = await runCli(['merge', join(dir, 'nope.json')]);
      expect(notFound.code).toBe(2);
      expect(notFound.stderr).toContain('nope.json');
    },
    SEVERAL_PROCESSES_MS,
  );
});

describe('exit 3: the measurement is invalid', () => {
  it('when the generator fell behind its schedule, with the lag and the verdict in the summary, JSON and HTML', async () => {
    // t0 three seconds in the past: every request is already late when it is sent, as from a
    // generator that was stalled for that long.
    const html = join(dir, 'invalid.html');
    const run = await runCli([
      '--url',
      stub.url,
      '--rate',
      '100',
      '--duration',
      '1s',
      '--warmup',
      '0',
      '--start-at',
      String(Date.now() - 3000),
      '--slo',
      'p99<1h',
      '--json',
      '-',
      '--html',
      html,
    ]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(
      /measurement invalid: the generator fell behind its schedule: send lag p99 \d+(\.\d+)?ms is above 50ms/,
    );
    expect(run.stderr).toContain('MEASUREMENT INVALID');
    const report = JSON.parse(run.stdout) as LoadReport;
    expect(report.generator.valid).toBe(false);
    expect(report.generator.sendLagMs.p99).toBeGreaterThan(1000);
    expect(report.generator.maxSendLagP99Ms).toBe(50);
    expect(await readFile(html, 'utf8')).toContain('measurement invalid');
  });
});
