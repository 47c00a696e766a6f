// A generator process's raw, mergeable result (what `--result` writes and `merge` reads): every
// histogram lossless, every count, the per-second series with a histogram per second, the
// breaker transitions it saw and its share of the schedule. A single run's report is the merge of
// its one result (merge.ts), so a merged report and a single run's are computed the same way.
import type { CallerBreakerRecord } from './breaker-events.js';
import type { BreakerState } from './envelope.js';
import {
  decodeHistogram,
  encodeHistogram,
  type EncodedHistogram,
  type ExactHistogram,
  type HistogramKind,
} from './histograms.js';
import type { BreakerTransitionSeen } from './result-types.js';

/** The `format` of a result file; a reader refuses any other. Bump it when the shape changes. */
export const RESULT_FORMAT = 's2s-loadtest-result/1';

export interface SecondCounts {
  /** Requests due in this second. */
  scheduled: number;
  /** Requests whose answer (or failure) arrived in this second. */
  completed: number;
  /** Requests due in this second without a 2xx answer. */
  errors: number;
  outcomes: Record<string, number>;
  /** Latency of the requests due in this second (packed, 2 digits); null when none finished. */
  latency: ExactHistogram | null;
}

export interface ProducerCounts {
  cluster: string | null;
  pod: string | null;
  requests: number;
  outcomeCounts: Record<string, number>;
  latency: ExactHistogram;
}

/** What the measurement recorded (histograms in µs). */
export interface MeasuredCounts {
  requests: number;
  completed: number;
  cancelled: number;
  errorCount: number;
  statusCounts: Record<string, number>;
  outcomeCounts: Record<string, number>;
  /** Connection-level failures by code. */
  errors: Record<string, number>;
  /** Counts in the fixed log buckets of the distribution chart (measurement.ts). */
  distribution: number[];
  latency: ExactHistogram;
  serviceTime: ExactHistogram;
  sendLag: ExactHistogram;
  /** Second 0 starts at the measured start. */
  seconds: SecondCounts[];
  breaker: {
    first: BreakerState | null;
    last: BreakerState | null;
    /** `atMs` since this result's measured start. */
    transitions: BreakerTransitionSeen[];
  };
  byProducer: ProducerCounts[];
}

/** One generator process's result. */
export interface LoadResult extends MeasuredCounts {
  /** Which slice of the global schedule this process sent: request k when k mod count = index. */
  worker: { index: number; count: number };
  /** Requests per second: this worker's share and the whole run's target. */
  rate: { worker: number; total: number };
  url: string;
  /** Epoch ms of the schedule's start (t0, the warm-up included). */
  startedAtEpochMs: number;
  /** Epoch ms of the measured start: t0 + warm-up. Workers sharing a t0 share it exactly. */
  measuredStartEpochMs: number;
  /** Measured time as planned (shorter when the run was stopped early). */
  durationMs: number;
  /** Since the measured start: the planned end, or the last answer when it came later. */
  measuredEndMs: number;
  warmupMs: number;
  graceMs: number;
  /** This process's connection cap. */
  connections: number;
  /**
   * The caller's own breaker record (its `GET /caller/events` stream) over this run, `atMs` since
   * this result's measured start; null when this process did not read it (workers but 0).
   */
  callerBreaker: CallerBreakerRecord | null;
}

type Encoded<T> = {
  [K in keyof T]: T[K] extends ExactHistogram
    ? EncodedHistogram
    : T[K] extends ExactHistogram | null
      ? EncodedHistogram | null
      : T[K] extends readonly (infer E)[]
        ? E extends object
          ? Encoded<E>[]
          : T[K]
        : T[K];
};

/** The JSON of a result file. */
export type LoadResultFile = { format: typeof RESULT_FORMAT } & Encoded<LoadResult>;

/** One line of JSON (so it can be picked out of a pod's log), newline-terminated. */
export function encodeResult(result: LoadResult): string {
  const file: LoadResultFile = {
    format: RESULT_FORMAT,
    ...result,
    latency: encodeHistogram(result.latency),
    serviceTime: encodeHistogram(result.serviceTime),
    sendLag: encodeHistogram(result.sendLag),
    seconds: result.seconds.map((second) => ({
      ...second,
      latency: second.latency ? encodeHistogram(second.latency) : null,
    })),
    byProducer: result.byProducer.map((producer) => ({
      ...producer,
      latency: encodeHistogram(producer.latency),
    })),
  };
  return `${JSON.stringify(file)}\n`;
}

/** A result file that cannot be read: the message names what is wrong. */
export class ResultFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResultFileError';
  }
}

const RESULT_MARKER = `{"format":"${RESULT_FORMAT.slice(0, RESULT_FORMAT.indexOf('/') + 1)}`;

/**
 * Reads every result in a text: a result file, or a log holding result lines among others (e.g.
 * `kubectl logs` of worker pods, with or without `--prefix`). Throws ResultFileError.
 */
export function parseResults(text: string, source: string): LoadResult[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    // One result (one line or pretty-printed), or a report given by mistake: decodeResult says which.
    let whole: unknown;
    try {
      whole = JSON.parse(trimmed);
    } catch {
      whole = undefined; // several lines of results, or a log: read line by line
    }
    if (whole !== undefined) return [decodeResult(whole, source)];
  }
  const results: LoadResult[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    const at = line.indexOf(RESULT_MARKER);
    if (at < 0) continue;
    results.push(decodeResult(parseJson(line.slice(at).trim(), `${source}:${index + 1}`), source));
  }
  if (results.length === 0) throw new ResultFileError(`${source}: no s2s-loadtest result in it`);
  return results;
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ResultFileError(`${source}: not JSON (${(error as Error).message})`);
  }
}

/** Checks the shape and decodes the histograms. Throws ResultFileError naming the field. */
export function decodeResult(value: unknown, source: string): LoadResult {
  const fail = (what: string): never => {
    throw new ResultFileError(`${source}: ${what}`);
  };
  if (typeof value !== 'object' || value === null) return fail('not a result object');
  const file = value as Partial<LoadResultFile>;
  const format: unknown = (value as { format?: unknown }).format;
  if (format !== RESULT_FORMAT) {
    return fail(
      typeof format === 'string'
        ? `format "${format}" is not ${RESULT_FORMAT} (written by another version)`
        : `no "format": not an s2s-loadtest result (written with --result?)`,
    );
  }
  const numbers = [
    'startedAtEpochMs',
    'measuredStartEpochMs',
    'durationMs',
    'measuredEndMs',
    'warmupMs',
    'graceMs',
    'connections',
    'requests',
    'completed',
    'cancelled',
    'errorCount',
  ] as const;
  for (const key of numbers) {
    if (typeof file[key] !== 'number' || !Number.isFinite(file[key])) fail(`"${key}" is missing`);
  }
  const worker = file.worker;
  if (
    !worker ||
    !Number.isInteger(worker.count) ||
    worker.count < 1 ||
    !Number.isInteger(worker.index) ||
    worker.index < 0 ||
    worker.index >= worker.count
  )
    fail('"worker" is not { index, count } with 0 <= index < count');
  if (!file.rate || !(file.rate.worker > 0) || !(file.rate.total > 0))
    fail('"rate" is not { worker, total }');
  for (const key of ['statusCounts', 'outcomeCounts', 'errors'] as const) {
    if (typeof file[key] !== 'object' || file[key] === null) fail(`"${key}" is missing`);
  }
  if (!Array.isArray(file.distribution) || !Array.isArray(file.seconds)) {
    fail('"distribution" or "seconds" is missing');
  }
  if (!file.breaker || !Array.isArray(file.breaker.transitions)) fail('"breaker" is missing');
  if (!Array.isArray(file.byProducer)) fail('"byProducer" is missing');
  const caller: unknown = (value as { callerBreaker?: unknown }).callerBreaker;
  if (caller !== undefined && caller !== null) {
    const record = caller as Partial<CallerBreakerRecord>;
    if (
      typeof record.url !== 'string' ||
      typeof record.recorded !== 'boolean' ||
      !Array.isArray(record.transitions) ||
      !record.transitions.every(
        (t) => typeof t === 'object' && t !== null && typeof t.atMs === 'number',
      )
    )
      fail(
        '"callerBreaker" is not { url, recorded, error, initialState, finalState, transitions }',
      );
  }
  const isCounts = (value: unknown): boolean => typeof value === 'object' && value !== null;
  file.seconds?.forEach((second, i) => {
    if (
      typeof second !== 'object' ||
      typeof second.scheduled !== 'number' ||
      typeof second.completed !== 'number' ||
      typeof second.errors !== 'number' ||
      !isCounts(second.outcomes)
    )
      fail(`"seconds[${i}]" is not { scheduled, completed, errors, outcomes, latency }`);
  });
  file.byProducer?.forEach((producer, i) => {
    if (
      typeof producer !== 'object' ||
      typeof producer.requests !== 'number' ||
      !isCounts(producer.outcomeCounts)
    )
      fail(`"byProducer[${i}]" is not { cluster, pod, requests, outcomeCounts, latency }`);
  });
  const decode = (encoded: EncodedHistogram | undefined, kind: HistogramKind, name: string) => {
    if (!encoded || typeof encoded.hdr !== 'string') return fail(`"${name}" is missing`);
    try {
      return decodeHistogram(encoded, kind);
    } catch (error) {
      return fail(`"${name}" is not an encoded histogram (${(error as Error).message})`);
    }
  };
  const checked = file as LoadResultFile;
  const { format: _format, ...rest } = checked;
  return {
    ...rest,
    // Written before the caller's record existed: none.
    callerBreaker: checked.callerBreaker ?? null,
    latency: decode(checked.latency, 'run', 'latency'),
    serviceTime: decode(checked.serviceTime, 'run', 'serviceTime'),
    sendLag: decode(checked.sendLag, 'run', 'sendLag'),
    seconds: checked.seconds.map((second, i) => ({
      ...second,
      latency: second.latency ? decode(second.latency, 'second', `seconds[${i}].latency`) : null,
    })),
    byProducer: checked.byProducer.map((producer, i) => ({
      ...producer,
      latency: decode(producer.latency, 'run', `byProducer[${i}].latency`),
    })),
  };
}
