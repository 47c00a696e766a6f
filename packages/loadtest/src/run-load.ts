import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { BreakerEventsWatcher, defaultEventsUrl } from './breaker-events.js';
import { readEnvelope } from './envelope.js';
import { Http1Pool, type Http1Handler } from './http1-pool.js';
import type { LoadResult } from './load-result.js';
import { Measurement, type RequestRecord } from './measurement.js';
import { mergeResults } from './merge.js';
import type { LoadReport } from './result-types.js';

export interface LoadOptions {
  /** Full URL requests are POSTed to, e.g. `http://127.0.0.1:8080/caller/messages`. */
  url: string | URL;
  /** Arrival rate, requests per second. */
  rate: number;
  /** Measured time in milliseconds (after the warm-up). */
  durationMs: number;
  /** Sent first at the same rate and left out of the results. **Default:** `0`. */
  warmupMs?: number;
  /** Most connections (requests in flight) at once; more wait in the pool's queue. **Default:** `128`. */
  connections?: number;
  /** `delay` put in every body (the producer waits this long). **Default:** none. */
  delayMs?: number;
  /** `responseCode` put in every body. **Default:** none. */
  responseCode?: number;
  /**
   * Sent as `x-fault-injection-token` with every request, for a caller whose
   * FAULT_INJECTION_TOKEN gates the fault knobs (`delay`, `responseCode`). **Default:** none.
   */
  faultInjectionToken?: string;
  /**
   * After the measured time, how long requests still in flight may take before they are cancelled
   * and counted as "cancelled" (their latency recorded as the time they had waited, a lower bound).
   * **Default:** `5000`, above the caller's 3 s producer deadline, so the caller always answers in time.
   */
  graceMs?: number;
  /** No answer within this time is a failure with code `UND_ERR_HEADERS_TIMEOUT`. **Default:** `60000`. */
  requestTimeoutMs?: number;
  /** `payload` of every body. **Default:** `"s2s-loadtest"`. */
  payload?: string;
  /** Called every `progressIntervalMs` while running. */
  onProgress?: (progress: LoadProgress) => void;
  /** **Default:** `1000`. */
  progressIntervalMs?: number;
  /** Aborting stops scheduling at once; requests in flight get the grace period. */
  signal?: AbortSignal;
  /**
   * Send only this worker's slice of the schedule: request k (due at t0 + k / rate, `rate` being
   * the whole run's) when k mod count = index, i.e. rate / count per second, interleaved with
   * the other workers'. **Default:** `{ index: 0, count: 1 }` (everything).
   */
  worker?: { index: number; count: number };
  /**
   * Epoch ms of t0, the schedule's start (warm-up included): workers given the same value send
   * one schedule between them. Waits until then; a time in the past shows as send lag.
   * **Default:** now.
   */
  startAt?: number;
  /** In every request id (`lt-<runId>-<k>`); workers of one run share it. **Default:** random. */
  runId?: string;
  /**
   * The caller's `GET /caller/events` stream, read for the whole run: the report's breaker
   * timeline is the caller's own record of its transitions. `null`: not read. **Default:**
   * `/caller/events` beside `url` for worker 0 (one record per run), not read by the others.
   */
  breakerEvents?: string | URL | null;
}

export interface LoadProgress {
  elapsedMs: number;
  /** Requests handed to the connection pool so far, warm-up included. */
  sent: number;
  completed: number;
  errors: number;
  inFlight: number;
  /** Answers per second over the last interval. */
  rate: number;
  warmingUp: boolean;
}

const DEFAULT_GRACE_MS = 5000;
const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
const MAX_BODY_BYTES = 64 * 1024;

/** Runs a load test (runLoadResult) and reports it: the merge of its one result. */
export async function runLoad(
  options: LoadOptions & { maxSendLagP99Ms?: number },
): Promise<LoadReport> {
  return mergeResults([await runLoadResult(options)], options);
}

/**
 * Runs an open-model load test: request i is due at `t0 + i / rate` whatever the server does,
 * and its latency is measured from that due time, not from when it got a connection (the
 * coordinated-omission correction of wrk2). A timer loop sends every request that is due on
 * each tick, so a late tick sends a batch rather than silently lowering the rate.
 */
export async function runLoadResult(options: LoadOptions): Promise<LoadResult> {
  const url = new URL(options.url);
  const rate = options.rate;
  if (!(rate > 0) || !(options.durationMs > 0))
    throw new RangeError('rate and durationMs must be positive');
  const worker = options.worker ?? { index: 0, count: 1 };
  if (
    !Number.isInteger(worker.count) ||
    worker.count < 1 ||
    !Number.isInteger(worker.index) ||
    worker.index < 0 ||
    worker.index >= worker.count
  )
    throw new RangeError('worker must be { index, count } with 0 <= index < count');
  const intervalMs = 1000 / rate;
  const warmupMs = options.warmupMs ?? 0;
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  const connections = options.connections ?? 128;
  const warmupCount = Math.round((warmupMs * rate) / 1000);
  const measuredCount = Math.max(1, Math.round((options.durationMs * rate) / 1000));
  let total = warmupCount + measuredCount;

  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new RangeError(`url must be http:// or https://, not ${url.protocol}`);
  const runId = options.runId ?? randomBytes(4).toString('hex');
  const bodyTail = buildBodyTail(options);
  // Everything of a request but its id, built once: each request is one string and one write.
  const token = options.faultInjectionToken;
  if (token !== undefined && /[\r\n]/.test(token))
    throw new RangeError('faultInjectionToken must not contain a line break');
  const head =
    `POST ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n` +
    `content-type: application/json\r\n` +
    (token ? `x-fault-injection-token: ${token}\r\n` : '') +
    'x-request-id: ';
  const pool = new Http1Pool(url, {
    connections,
    requestTimeoutMs,
    // Stays below Node's default 5 s server keep-alive so the pool never reuses a socket the
    // server is about to close.
    keepAliveTimeoutMs: 4000,
    maxBodyBytes: MAX_BODY_BYTES,
    // The id and the numbers are ASCII; the rest is fixed for the run.
    ascii: Buffer.byteLength(head + bodyTail + runId) === (head + bodyTail + runId).length,
  });
  // The body is {"id":"<id>"<tail>: 8 bytes around the id (which is ASCII) plus the tail's.
  const bodyBytesAroundId = 8 + Buffer.byteLength(bodyTail);

  const eventsUrl =
    options.breakerEvents === null
      ? null
      : options.breakerEvents !== undefined
        ? new URL(options.breakerEvents)
        : worker.index === 0
          ? defaultEventsUrl(url)
          : null;
  const watcher = eventsUrl ? new BreakerEventsWatcher(eventsUrl) : null;
  // Connected (and the state on connect read) before t0, so the record covers the whole run.
  if (watcher) await watcher.start();

  if (options.startAt !== undefined) {
    const wait = options.startAt - (performance.timeOrigin + performance.now());
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  const t0 =
    options.startAt === undefined ? performance.now() : options.startAt - performance.timeOrigin;
  const measuredStart = t0 + warmupCount * intervalMs;
  const measurement = new Measurement(measuredStart);
  const pending = new Set<LoadRequest>();
  // Global request numbers: this worker sends index, index + count, index + 2 × count, …
  let next = worker.index;
  let sent = 0;
  let finished = 0;
  let errors = 0;

  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  let timer: NodeJS.Timeout | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  let schedulingOver = false;

  const finish = (request: LoadRequest, record: RequestRecord): void => {
    pending.delete(request);
    finished += 1;
    if (record.statusCode === null || record.statusCode < 200 || record.statusCode > 299)
      errors += 1;
    const measured = request.index >= warmupCount;
    measurement.observeBreaker(record.breakerState, record.endedAt, measured);
    if (measured) measurement.record(record);
    if (schedulingOver && pending.size === 0) resolveDone();
  };

  const send = (index: number): void => {
    const scheduledAt = t0 + index * intervalMs;
    if (index >= warmupCount) measurement.scheduled(scheduledAt);
    const id = `lt-${runId}-${index}`;
    const request = new LoadRequest(index, scheduledAt, performance.now(), finish);
    pending.add(request);
    sent += 1;
    pool.dispatch(
      `${head}${id}\r\ncontent-length: ${bodyBytesAroundId + id.length}\r\n\r\n{"id":"${id}"${bodyTail}`,
      request,
    );
  };

  // Where the measured time ended: its planned end, or the moment the run was stopped early.
  let measuredEndPlanned = measuredStart + options.durationMs;
  const endScheduling = (stoppedEarly: boolean): void => {
    if (schedulingOver) return;
    schedulingOver = true;
    total = next;
    if (timer) clearTimeout(timer);
    // next may be past total by up to count - 1: harmless, total only bounds the loop.
    if (stoppedEarly)
      measuredEndPlanned = Math.max(measuredStart, Math.min(measuredEndPlanned, performance.now()));
    if (pending.size === 0) {
      resolveDone();
      return;
    }
    const graceEnd = Math.max(performance.now(), measuredEndPlanned) + graceMs;
    graceTimer = setTimeout(resolveDone, Math.max(0, graceEnd - performance.now()));
  };

  const tick = (): void => {
    const now = performance.now();
    const due = Math.min(total, Math.floor((now - t0) / intervalMs) + 1);
    while (next < due) {
      send(next);
      next += worker.count;
    }
    if (next >= total) {
      endScheduling(false);
      return;
    }
    timer = setTimeout(tick, Math.max(0, t0 + next * intervalMs - performance.now()));
  };

  const onAbort = (): void => endScheduling(true);
  options.signal?.addEventListener('abort', onAbort, { once: true });

  let lastProgressAt = t0;
  let lastProgressFinished = 0;
  const progressTimer = options.onProgress
    ? setInterval(() => {
        const now = performance.now();
        const rateNow =
          ((finished - lastProgressFinished) * 1000) / Math.max(1, now - lastProgressAt);
        lastProgressAt = now;
        lastProgressFinished = finished;
        options.onProgress?.({
          elapsedMs: now - t0,
          sent,
          completed: finished,
          errors,
          inFlight: pending.size,
          rate: rateNow,
          warmingUp: now < measuredStart,
        });
      }, options.progressIntervalMs ?? 1000).unref()
    : undefined;

  if (options.signal?.aborted) endScheduling(true);
  else tick();
  await done;

  if (graceTimer) clearTimeout(graceTimer);
  if (progressTimer) clearInterval(progressTimer);
  options.signal?.removeEventListener('abort', onAbort);
  const cancelledAt = performance.now();
  for (const request of [...pending]) request.cancel(cancelledAt);
  pool.destroy();
  const callerBreaker = watcher ? watcher.stop(measuredStart) : null;

  const measuredEnd = Math.max(measuredEndPlanned, measurement.lastEndedAt);
  return {
    ...measurement.counts(),
    worker: { index: worker.index, count: worker.count },
    rate: { worker: rate / worker.count, total: rate },
    url: url.href,
    startedAtEpochMs: performance.timeOrigin + t0,
    measuredStartEpochMs: performance.timeOrigin + measuredStart,
    durationMs: measuredEndPlanned - measuredStart,
    measuredEndMs: measuredEnd - measuredStart,
    warmupMs: warmupCount * intervalMs,
    graceMs,
    connections,
    callerBreaker,
  };
}

/** The body after the id: `,"payload":"…","delay":…,"responseCode":…}` — built once per run. */
function buildBodyTail(options: LoadOptions): string {
  let tail = `,"payload":${JSON.stringify(options.payload ?? 's2s-loadtest')}`;
  if (options.delayMs !== undefined) tail += `,"delay":${options.delayMs}`;
  if (options.responseCode !== undefined) tail += `,"responseCode":${options.responseCode}`;
  return `${tail}}`;
}

/** One request: notes when it hit the socket, reads the envelope of its answer. */
class LoadRequest implements Http1Handler {
  private sentAt: number | null = null;
  private settled = false;

  constructor(
    readonly index: number,
    private readonly scheduledAt: number,
    private readonly dispatchedAt: number,
    private readonly onFinish: (request: LoadRequest, record: RequestRecord) => void,
  ) {}

  onSent(): void {
    this.sentAt = performance.now();
  }

  onResponse(statusCode: number, body: Buffer | null): void {
    const endedAt = performance.now();
    // Only JSON bodies are kept by the pool: only they can be envelopes.
    const envelope = readEnvelope(body === null ? null : body.toString('utf8'));
    this.settle({
      scheduledAt: this.scheduledAt,
      dispatchedAt: this.dispatchedAt,
      sentAt: this.sentAt,
      endedAt,
      statusCode,
      outcome: envelope.outcome,
      breakerState: envelope.breakerState,
      errorCode: null,
      producerCluster: envelope.producerCluster,
      producerPod: envelope.producerPod,
    });
  }

  onError(code: string): void {
    this.settle({
      scheduledAt: this.scheduledAt,
      dispatchedAt: this.dispatchedAt,
      sentAt: this.sentAt,
      endedAt: performance.now(),
      statusCode: null,
      outcome: 'error',
      breakerState: null,
      errorCode: code,
      producerCluster: null,
      producerPod: null,
    });
  }

  /** Still unanswered when the grace period ended. */
  cancel(at: number): void {
    this.settle({
      scheduledAt: this.scheduledAt,
      dispatchedAt: this.dispatchedAt,
      sentAt: this.sentAt,
      endedAt: at,
      statusCode: null,
      outcome: 'cancelled',
      breakerState: null,
      errorCode: null,
      producerCluster: null,
      producerPod: null,
    });
  }

  private settle(record: RequestRecord): void {
    if (this.settled) return;
    this.settled = true;
    this.onFinish(this, record);
  }
}
