import { parseArgs } from 'node:util';
import { parseDurationMs } from './duration.js';
import { DEFAULT_MAX_SEND_LAG_P99_MS } from './generator-health.js';
import { parseSlo, type Objective } from './slo.js';

/** What the command line asks for, validated. */
export interface CliOptions {
  url: URL;
  rate: number;
  durationMs: number;
  warmupMs: number;
  connections: number;
  delayMs: number | undefined;
  responseCode: number | undefined;
  jsonFile: string | undefined;
  htmlFile: string | undefined;
  slo: Objective[] | undefined;
  /** Send-lag p99 above this makes the measurement invalid (exit 3). */
  maxSendLagP99Ms: number;
  /** `--result`: where this process writes its raw, mergeable result (`-` for stdout). */
  resultFile: string | undefined;
  /** `--workers N`: run N worker processes here and merge them. */
  workers: number | undefined;
  /** `--worker I/N`: be worker I of N (send request k when k mod N = I). */
  worker: { index: number; count: number } | undefined;
  /** `--start-at`: epoch ms of the schedule's start (shared by the workers of one run). */
  startAt: number | undefined;
  /** `--run-id`: in every request id; shared by the workers of one run. */
  runId: string | undefined;
  /**
   * `--breaker-events`: the caller's events stream read for the breaker timeline; null for
   * `off`; undefined for the default (`/caller/events` beside --url, read once per run: by the
   * `--workers` parent, or by worker 0 of `--worker I/N`).
   */
  breakerEvents: URL | null | undefined;
}

/** `s2s-loadtest merge FILE… [--json F] [--html F] [--slo S]`. */
export interface MergeCliOptions {
  files: string[];
  jsonFile: string | undefined;
  htmlFile: string | undefined;
  slo: Objective[] | undefined;
  maxSendLagP99Ms: number;
}

export type ParsedCommandLine =
  | { command: 'help' }
  | { command: 'run'; options: CliOptions }
  | { command: 'merge'; options: MergeCliOptions };

/** A bad or missing flag: the CLI prints the message (which names the flag) and exits 2. */
export class UsageError extends Error {
  readonly flag: string;
  constructor(flag: string, message: string) {
    super(`${flag}: ${message}`);
    this.name = 'UsageError';
    this.flag = flag;
  }
}

export const DEFAULT_CONNECTIONS = 128;
/** Warm-up when `--warmup` is not given: 10% of the duration, at most 2 s. */
export const DEFAULT_WARMUP_FRACTION = 0.1;
export const DEFAULT_WARMUP_MAX_MS = 2000;
/** Requests per second above this are refused: far beyond what one Node process can generate. */
const MAX_RATE = 1_000_000;
/** More local workers than this is never faster: each is a Node process wanting a core. */
const MAX_LOCAL_WORKERS = 64;

export const USAGE = `Usage: s2s-loadtest --url URL --rate N --duration 30s [options]
       s2s-loadtest merge FILE... [--json FILE] [--html FILE] [--slo LIST] [--max-send-lag D]

Sends POST /caller/messages bodies at a fixed arrival rate (open model) and reports latency
measured from each request's scheduled send time, counts by HTTP status, by outcome and by
producer cluster and pod, and the circuit breaker's transitions from the caller's own record
(its events stream), with those seen in the envelopes as a second, inferred view.

Required:
  --url URL             the caller, e.g. http://127.0.0.1:8080 (a URL without a path gets
                        /caller/messages; a URL with a path is used as it is)
  --rate N              requests per second of the whole run (arrival rate, kept whatever the
                        server does; split between the workers)
  --duration D          measured time, e.g. 500ms, 30s, 2m (a bare number means seconds)

Options:
  --warmup D|P%         sent before the measured time and left out of the results
                        (default: 10% of --duration, at most 2s; 0 disables it)
  --connections N       at most N connections per worker process, i.e. requests in flight
                        (default ${DEFAULT_CONNECTIONS}); requests over the cap wait, and their waiting counts
                        as latency
  --delay MS            put "delay": MS in every body (producer waits that long)
  --response-code N     put "responseCode": N in every body (200-599; producer answers with it)
  --json FILE           write the report as JSON (- for stdout; the summary then goes to stderr)
  --html FILE           write a self-contained HTML report with charts
  --slo LIST            objectives on the (merged) data, e.g. 'p99<250ms,errors<0.1%,rate>=95%'
                        (p50 p90 p99 p999 max with < or <= a duration; errors with < or <= a
                        percentage; rate with >= or > a rate per second or a % of --rate;
                        the older p99=1s means at most); no samples fails an objective
  --max-send-lag D      the measurement is invalid (exit 3) when the generator's send lag
                        p99 is above D (default ${DEFAULT_MAX_SEND_LAG_P99_MS}ms)
  --help                show this text

Scale-out:
  --workers N           run N worker processes on this machine, each sending 1/N of the
                        schedule with its own connections, then merge them into one report
  --worker I/N          be worker I (0..N-1) of N: send request k (due at t0 + k/rate) when
                        k mod N = I, i.e. rate/N per second (for workers on several machines)
  --result FILE         write this process's raw, mergeable result (lossless histograms,
                        counts, per-second series; one line of JSON; - for stdout)
  --start-at T          t0 (the warm-up's start), shared by workers: epoch milliseconds or
                        an ISO 8601 time with its zone, e.g. 2026-12-02T21:30:00Z (default:
                        now)
  --run-id ID           request ids are lt-ID-k; workers of one run share it (default: random)
  --breaker-events URL|off
                        the caller's GET /caller/events stream, read for the whole run: the
                        breaker timeline is the caller's own record of its transitions
                        (default: /caller/events beside --url, read once per run: by the
                        --workers parent, or with --worker I/N by worker 0 only)
  merge FILE...         merge result files (or logs holding result lines) exactly, then print
                        and write the report as one run would

Environment: FAULT_INJECTION_TOKEN  sent as x-fault-injection-token with every request
                        (a caller with the same variable set refuses --delay and
                        --response-code without it: 403)
             SIDECAR_QUIT_URL  when set (a Job under an Istio sidecar:
                        http://127.0.0.1:15020/quitquitquit), POSTed to once the run is done,
                        so the pod can complete; the exit status stays the CLI's own

Exit status: 0 passed, 1 an SLO objective failed (each printed with its measured value),
2 bad or missing flag or unreadable result file, 3 the measurement is invalid (the generator
fell behind its schedule, a worker failed or its result is missing).`;

/** Parses and validates argv (without node and script). Throws UsageError naming the flag. */
export function parseCommandLine(argv: readonly string[]): ParsedCommandLine {
  if (argv[0] === 'merge') return parseMergeCommandLine(argv.slice(1));
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        rate: { type: 'string' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        connections: { type: 'string' },
        delay: { type: 'string' },
        'response-code': { type: 'string' },
        json: { type: 'string' },
        html: { type: 'string' },
        slo: { type: 'string' },
        'max-send-lag': { type: 'string' },
        result: { type: 'string' },
        workers: { type: 'string' },
        worker: { type: 'string' },
        'start-at': { type: 'string' },
        'run-id': { type: 'string' },
        'breaker-events': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw toUsageError(error);
  }
  if (values.help === true) return { command: 'help' };

  const url = parseUrl(required(values, 'url'));
  const rate = parsePositiveNumber('--rate', required(values, 'rate'));
  if (rate > MAX_RATE)
    throw new UsageError('--rate', `${rate} is above the maximum of ${MAX_RATE}`);
  const durationMs = parseDurationFlag('--duration', required(values, 'duration'));
  if (durationMs <= 0) throw new UsageError('--duration', 'must be greater than 0');
  if (durationMs * rate < 1000) {
    throw new UsageError(
      '--duration',
      `at ${rate}/s a duration of ${durationMs}ms sends no request`,
    );
  }
  const warmupMs = parseWarmup(optional(values, 'warmup'), durationMs);
  const connectionsText = optional(values, 'connections');
  const connections =
    connectionsText === undefined
      ? DEFAULT_CONNECTIONS
      : parseInteger('--connections', connectionsText, 1, 100_000);
  const delayText = optional(values, 'delay');
  const delayMs =
    delayText === undefined ? undefined : parseInteger('--delay', delayText, 0, 3_600_000);
  const codeText = optional(values, 'response-code');
  const responseCode =
    codeText === undefined ? undefined : parseInteger('--response-code', codeText, 200, 599);
  const jsonFile = parseFile('--json', optional(values, 'json'));
  const htmlFile = parseFile('--html', optional(values, 'html'));
  const resultFile = parseFile('--result', optional(values, 'result'));
  if (resultFile === '-' && jsonFile === '-')
    throw new UsageError('--result', '- and --json - cannot both have stdout');
  const workersText = optional(values, 'workers');
  const workers =
    workersText === undefined
      ? undefined
      : parseInteger('--workers', workersText, 1, MAX_LOCAL_WORKERS);
  const worker = parseWorker(optional(values, 'worker'));
  if (workers !== undefined && worker !== undefined)
    throw new UsageError('--worker', 'is one worker of a run; --workers starts them all here');
  if (workers !== undefined && resultFile !== undefined)
    throw new UsageError('--result', 'is written by each worker; with --workers use --json');
  const startAt = parseStartAt(optional(values, 'start-at'));
  const runId = optional(values, 'run-id');
  if (runId !== undefined && !/^[A-Za-z0-9._-]{1,40}$/.test(runId))
    throw new UsageError('--run-id', `"${runId}" is not 1-40 of A-Z a-z 0-9 . _ -`);
  return {
    command: 'run',
    options: {
      url,
      rate,
      durationMs,
      warmupMs,
      connections,
      delayMs,
      responseCode,
      jsonFile,
      htmlFile,
      slo: parseSloFlag(optional(values, 'slo')),
      maxSendLagP99Ms: parseMaxSendLag(optional(values, 'max-send-lag')),
      resultFile,
      workers,
      worker,
      startAt,
      runId,
      breakerEvents: parseBreakerEvents(optional(values, 'breaker-events')),
    },
  };
}

function parseBreakerEvents(text: string | undefined): URL | null | undefined {
  if (text === undefined) return undefined;
  if (text === 'off') return null;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError('--breaker-events', `"${text}" is not a URL or off`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError('--breaker-events', `"${text}" must be http:// or https://`);
  return url;
}

function parseMergeCommandLine(argv: readonly string[]): ParsedCommandLine {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: true,
      options: {
        json: { type: 'string' },
        html: { type: 'string' },
        slo: { type: 'string' },
        'max-send-lag': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw toUsageError(error);
  }
  if (values.help === true) return { command: 'help' };
  if (positionals.length === 0) throw new UsageError('merge', 'needs at least one result file');
  return {
    command: 'merge',
    options: {
      files: positionals,
      jsonFile: parseFile('--json', optional(values, 'json')),
      htmlFile: parseFile('--html', optional(values, 'html')),
      slo: parseSloFlag(optional(values, 'slo')),
      maxSendLagP99Ms: parseMaxSendLag(optional(values, 'max-send-lag')),
    },
  };
}

function parseSloFlag(text: string | undefined): Objective[] | undefined {
  if (text === undefined) return undefined;
  try {
    return parseSlo(text);
  } catch (error) {
    throw new UsageError('--slo', (error as Error).message);
  }
}

/**
 * `--start-at`: epoch milliseconds, an ISO 8601 time with its zone (2026-12-02T21:30:00Z), or
 * "now" (the default: this process's own start). Undefined for now.
 */
function parseStartAt(text: string | undefined): number | undefined {
  if (text === undefined || text === 'now') return undefined;
  if (/^\d+$/.test(text))
    return parseInteger('--start-at', text, 1_000_000_000_000, 100_000_000_000_000);
  // Date.parse takes a time without a zone as local time: a zone is required so every worker
  // (pods in other time zones included) reads the same instant.
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(text);
  const at = iso ? Date.parse(text) : Number.NaN;
  if (!Number.isFinite(at)) {
    throw new UsageError(
      '--start-at',
      `"${text}" is not epoch milliseconds, an ISO 8601 time with its zone (e.g. 2026-12-02T21:30:00Z) or now`,
    );
  }
  return at;
}

function parseMaxSendLag(text: string | undefined): number {
  if (text === undefined) return DEFAULT_MAX_SEND_LAG_P99_MS;
  return parseDurationFlag('--max-send-lag', text);
}

function parseWorker(text: string | undefined): { index: number; count: number } | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+)\/(\d+)$/.exec(text);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || !(count >= 1) || !(index < count) || count > 100_000) {
    throw new UsageError('--worker', `"${text}" is not I/N with 0 <= I < N (e.g. 0/4)`);
  }
  return { index, count };
}

function toUsageError(error: unknown): UsageError {
  const message = error instanceof Error ? error.message : String(error);
  // node:util messages quote the flag: "Unknown option '--rat'", "Option '--url <value>' argument missing".
  const flag = /'(-{1,2}[^' ]+)/.exec(message)?.[1] ?? 'arguments';
  return new UsageError(flag, message.replace(/\. To specify a positional argument.*$/s, ''));
}

function required(values: Record<string, string | boolean | undefined>, name: string): string {
  const value = optional(values, name);
  if (value === undefined) throw new UsageError(`--${name}`, 'is required');
  return value;
}

function optional(
  values: Record<string, string | boolean | undefined>,
  name: string,
): string | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '')
    throw new UsageError(`--${name}`, 'needs a value');
  return value.trim();
}

function parseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError('--url', `"${text}" is not a URL (e.g. http://127.0.0.1:8080)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError('--url', `"${text}" must be http:// or https://`);
  }
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/caller/messages';
  return url;
}

function parsePositiveNumber(flag: string, text: string): number {
  const value = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(value) || value <= 0)
    throw new UsageError(flag, `"${text}" is not a positive number`);
  return value;
}

function parseInteger(flag: string, text: string, min: number, max: number): number {
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(flag, `"${text}" is not an integer from ${min} to ${max}`);
  }
  return value;
}

function parseDurationFlag(flag: string, text: string): number {
  const ms = parseDurationMs(text);
  if (ms === null) throw new UsageError(flag, `"${text}" is not a duration (e.g. 500ms, 30s, 2m)`);
  return ms;
}

function parseWarmup(text: string | undefined, durationMs: number): number {
  if (text === undefined)
    return Math.min(DEFAULT_WARMUP_MAX_MS, durationMs * DEFAULT_WARMUP_FRACTION);
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (percent) {
    const fraction = Number(percent[1]) / 100;
    if (fraction > 1) throw new UsageError('--warmup', `"${text}" is more than 100% of --duration`);
    return durationMs * fraction;
  }
  return parseDurationFlag('--warmup', text);
}

function parseFile(flag: string, text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (text.startsWith('-') && !((flag === '--json' || flag === '--result') && text === '-'))
    throw new UsageError(flag, `"${text}" looks like a flag, not a file name`);
  return text;
}
