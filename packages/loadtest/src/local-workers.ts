// `--workers N` on one machine: N child processes of this same CLI, each `--worker I/N` with one
// shared `--start-at` and `--run-id`, so together they send exactly the one schedule a single
// process would, each with its own connections and its own core. Each writes its raw result
// into a temporary directory; the parent reads and merges them.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CliOptions } from './args.js';
import { BreakerEventsWatcher, defaultEventsUrl } from './breaker-events.js';
import { parseResults, type LoadResult } from './load-result.js';
import { SIDECAR_QUIT_URL_ENV } from './sidecar-quit.js';

/**
 * How far in the future the shared t0 is set: a Node process starts in ~50-300 ms, slower on a
 * busy machine. A worker that still starts late sends its first requests as a batch and that
 * lateness shows as send lag (warm-up requests excepted), never silently.
 */
const START_LEAD_MS = 1500;
/** The end of a worker's stderr kept for the message when it fails. */
const STDERR_TAIL_CHARS = 2000;

/** A worker process that did not deliver a result: the run is not a valid measurement. */
export class WorkerFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerFailure';
  }
}

/** The command line of worker `index`: the run's own settings plus its slice and the output. */
export function workerArguments(
  options: CliOptions,
  worker: { index: number; count: number; startAt: number; runId: string; resultFile: string },
): string[] {
  const args = [
    '--url',
    options.url.href,
    '--rate',
    String(options.rate),
    '--duration',
    `${options.durationMs}ms`,
    '--warmup',
    `${options.warmupMs}ms`,
    '--connections',
    String(options.connections),
    '--max-send-lag',
    `${options.maxSendLagP99Ms}ms`,
    '--worker',
    `${worker.index}/${worker.count}`,
    '--start-at',
    String(worker.startAt),
    '--run-id',
    worker.runId,
    '--result',
    worker.resultFile,
  ];
  // One record of the caller's breaker per run: this parent process reads it (runLocalWorkers).
  args.push('--breaker-events', 'off');
  if (options.delayMs !== undefined) args.push('--delay', String(options.delayMs));
  if (options.responseCode !== undefined)
    args.push('--response-code', String(options.responseCode));
  return args;
}

/**
 * Runs `count` workers of `cliFile` and returns their results in index order. Aborting the
 * signal sends each worker SIGTERM (it stops scheduling and still writes what it measured).
 * Throws WorkerFailure naming the worker, its exit status and the end of its stderr.
 */
export async function runLocalWorkers(
  options: CliOptions,
  count: number,
  cliFile: string,
  signal?: AbortSignal,
): Promise<LoadResult[]> {
  // The caller's breaker record is read here, once, connected before any worker starts: a
  // worker process that starts late would miss the first transitions.
  const watcher =
    options.breakerEvents === null
      ? null
      : new BreakerEventsWatcher(options.breakerEvents ?? defaultEventsUrl(options.url));
  if (watcher) await watcher.start();
  const dir = await mkdtemp(join(tmpdir(), 's2s-loadtest-workers-'));
  const startAt = options.startAt ?? Date.now() + START_LEAD_MS;
  const runId = options.runId ?? randomBytes(4).toString('hex');
  // The parent stops the sidecar once; a worker must not stop it under its siblings.
  const env = { ...process.env };
  delete env[SIDECAR_QUIT_URL_ENV];
  try {
    const runs = Array.from({ length: count }, (_, index) => {
      const resultFile = join(dir, `worker-${index}.json`);
      const args = workerArguments(options, { index, count, startAt, runId, resultFile });
      return runWorker(index, count, [cliFile, ...args], env, resultFile, signal);
    });
    const settled = await Promise.allSettled(runs);
    const failures = settled.flatMap((s) =>
      s.status === 'rejected' ? [(s.reason as Error).message] : [],
    );
    if (failures.length > 0) throw new WorkerFailure(failures.join('\n'));
    const results = settled.map((s) => (s as PromiseFulfilledResult<LoadResult>).value);
    if (watcher && results[0]) {
      const measuredStart = results[0].measuredStartEpochMs - performance.timeOrigin;
      // Relative to worker 0's measured start, as if worker 0 had read it.
      results[0] = { ...results[0], callerBreaker: watcher.stop(measuredStart) };
    }
    return results;
  } finally {
    watcher?.stop(0);
    await rm(dir, { recursive: true, force: true });
  }
}

async function runWorker(
  index: number,
  count: number,
  args: string[],
  env: NodeJS.ProcessEnv,
  resultFile: string,
  signal: AbortSignal | undefined,
): Promise<LoadResult> {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
  });
  const stop = (): void => {
    child.kill('SIGTERM');
  };
  signal?.addEventListener('abort', stop, { once: true });
  const status = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, exitSignal) => resolve({ code, signal: exitSignal }));
    },
  ).finally(() => signal?.removeEventListener('abort', stop));
  const name = `worker ${index}/${count}`;
  // 0 passed, 1 its own SLO (none is given to it), 3 its own share judged invalid: the result
  // is written in every one of these cases and the merged data decides.
  if (status.code !== 0 && status.code !== 1 && status.code !== 3) {
    const how = status.signal ? `was killed by ${status.signal}` : `exited with ${status.code}`;
    throw new WorkerFailure(`${name} ${how}: ${stderr.trim() || '(no output)'}`);
  }
  let text: string;
  try {
    text = await readFile(resultFile, 'utf8');
  } catch (error) {
    throw new WorkerFailure(
      `${name} wrote no result (${(error as Error).message}): ${stderr.trim() || '(no output)'}`,
    );
  }
  const [result] = parseResults(text, `${name} result`);
  if (!result) throw new WorkerFailure(`${name} result is empty`);
  return result;
}
