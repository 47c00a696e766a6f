import { parseArgs } from 'node:util';
import { parseDurationMs } from './duration.js';
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
}

export type ParsedCommandLine = { help: true } | { help: false; options: CliOptions };

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

export const USAGE = `Usage: s2s-loadtest --url URL --rate N --duration 30s [options]

Sends POST /caller/messages bodies at a fixed arrival rate (open model) and reports latency
measured from each request's scheduled send time, counts by HTTP status and by outcome, and
the circuit-breaker transitions seen in the caller's envelopes.

Required:
  --url URL             the caller, e.g. http://127.0.0.1:8080 (a URL without a path gets
                        /caller/messages; a URL with a path is used as it is)
  --rate N              requests per second (arrival rate, kept whatever the server does)
  --duration D          measured time, e.g. 500ms, 30s, 2m (a bare number means seconds)

Options:
  --warmup D|P%         sent before the measured time and left out of the results
                        (default: 10% of --duration, at most 2s; 0 disables it)
  --connections N       at most N connections, i.e. requests in flight (default ${DEFAULT_CONNECTIONS});
                        requests over the cap wait, and their waiting counts as latency
  --delay MS            put "delay": MS in every body (producer waits that long)
  --response-code N     put "responseCode": N in every body (200-599; producer answers with it)
  --json FILE           write the results as JSON (- for stdout; the summary then goes to stderr)
  --html FILE           write a self-contained HTML report with charts
  --slo LIST            objectives, e.g. p99=500ms,errors=1% (keys: p50 p90 p99 p999 max
                        errors); exit 1 when one is broken
  --help                show this text

Environment: SIDECAR_QUIT_URL  when set (a Job under an Istio sidecar:
                        http://127.0.0.1:15020/quitquitquit), POSTed to once the run is done,
                        so the pod can complete; the exit status stays the CLI's own

Exit status: 0 done (and SLO met), 1 SLO broken or run failed, 2 bad or missing flag.`;

/** Parses and validates argv (without node and script). Throws UsageError naming the flag. */
export function parseCommandLine(argv: readonly string[]): ParsedCommandLine {
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
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw toUsageError(error);
  }
  if (values.help === true) return { help: true };

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
  const sloText = optional(values, 'slo');
  let slo: Objective[] | undefined;
  if (sloText !== undefined) {
    try {
      slo = parseSlo(sloText);
    } catch (error) {
      throw new UsageError('--slo', (error as Error).message);
    }
  }
  return {
    help: false,
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
      slo,
    },
  };
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
  if (text.startsWith('-') && !(flag === '--json' && text === '-'))
    throw new UsageError(flag, `"${text}" looks like a flag, not a file name`);
  return text;
}
