import { createRequire } from 'node:module';
import type { Histogram } from 'hdr-histogram-js';
import type { BreakerState } from './envelope.js';
import type {
  BreakerTransitionSeen,
  DistributionBucket,
  LatencySummary,
  SecondSample,
} from './result-types.js';

/** How one request ended. Times are `performance.now()` milliseconds. */
export interface RequestRecord {
  scheduledAt: number;
  /** When the generator handed the request to the connection pool. */
  dispatchedAt: number;
  /** When the request was written to a socket; null when it never was. */
  sentAt: number | null;
  endedAt: number;
  /** HTTP status, or null when there was no answer. */
  statusCode: number | null;
  /** Envelope outcome, "invalid", "error" (no answer) or "cancelled". */
  outcome: string;
  breakerState: BreakerState | null;
  errorCode: string | null;
}

// Values are recorded in microseconds: 1 µs resolution, up to one hour, 3 significant digits
// (0.1% error), the settings wrk2 and HdrHistogram's own examples use. The JS implementation is
// used on purpose: the WebAssembly one needs an async init and gains nothing at these rates.
// The run-wide histograms use plain 32-bit counters (fastest to record, ~190 KB each); the
// per-second ones are packed (a few KB each, so hour-long runs stay small) with 2 digits, plenty
// for a chart.
type HistogramClass = new (lowest: number, highest: number, digits: number) => Histogram;
// The two histogram classes straight from their CommonJS modules: the package index also loads
// the WebAssembly build and the log writer (~100 ms of start-up CPU for nothing here). require()
// because ESM default-import interop of these modules differs between Node and Vitest.
const require = createRequire(import.meta.url);
const Int32Histogram = (
  require('hdr-histogram-js/dist/Int32Histogram') as { default: HistogramClass }
).default;
const PackedHistogram = (
  require('hdr-histogram-js/dist/PackedHistogram') as { default: HistogramClass }
).default;

function newHistogram(kind: 'run' | 'second' = 'run'): Histogram {
  const histogram: Histogram =
    kind === 'run'
      ? new Int32Histogram(1, 3_600_000_000, 3)
      : new PackedHistogram(1, 3_600_000_000, 2);
  histogram.autoResize = true;
  return histogram;
}

const toMicros = (ms: number): number => Math.max(1, Math.round(ms * 1000));
const toMs = (micros: number): number => Math.round(micros) / 1000;

// The distribution chart uses fixed log buckets, 10 per decade from 10 µs: readable at a glance,
// independent of HDR's internal bucket layout.
const DISTRIBUTION_FLOOR_MS = 0.01;
const BUCKETS_PER_DECADE = 10;
const DISTRIBUTION_BUCKETS = 90;

interface SecondBucket {
  scheduled: number;
  completed: number;
  errors: number;
  histogram: Histogram | null;
  outcomes: Map<string, number>;
}

/**
 * Collects the measured requests: HDR histograms, counts, one bucket per second, and breaker
 * transitions. Warm-up requests only feed the breaker-state tracker (so the first measured
 * transition has a known "from").
 */
export class Measurement {
  readonly latency = newHistogram();
  readonly serviceTime = newHistogram();
  readonly sendLag = newHistogram();
  readonly statusCounts = new Map<string, number>();
  readonly outcomeCounts = new Map<string, number>();
  readonly errorCodes = new Map<string, number>();
  readonly breakerTransitions: BreakerTransitionSeen[] = [];
  readonly distribution = new Array<number>(DISTRIBUTION_BUCKETS).fill(0);
  requests = 0;
  completed = 0;
  cancelled = 0;
  errorCount = 0;
  lastEndedAt = 0;
  firstBreakerState: BreakerState | null = null;
  private breakerState: BreakerState | null = null;
  private readonly seconds: SecondBucket[] = [];

  constructor(readonly measuredStart: number) {}

  /** A measured request was scheduled (called for each, so `scheduled` per second is exact). */
  scheduled(scheduledAt: number): void {
    this.requests += 1;
    this.bucket(scheduledAt).scheduled += 1;
  }

  /** Every answer, warm-up included, in arrival order: keeps the breaker state current. */
  observeBreaker(state: BreakerState | null, endedAt: number, measured: boolean): void {
    if (state === null) return;
    const previous = this.breakerState;
    this.breakerState = state;
    if (!measured) return;
    if (this.firstBreakerState === null) this.firstBreakerState = previous ?? state;
    if (previous !== null && previous !== state) {
      this.breakerTransitions.push({
        atMs: Math.round((endedAt - this.measuredStart) * 10) / 10,
        from: previous,
        to: state,
      });
    }
  }

  get lastBreakerState(): BreakerState | null {
    return this.breakerState;
  }

  record(request: RequestRecord): void {
    const latencyMs = request.endedAt - request.scheduledAt;
    const micros = toMicros(latencyMs);
    this.latency.recordValue(micros);
    if (request.sentAt !== null) {
      this.serviceTime.recordValue(toMicros(request.endedAt - request.sentAt));
    }
    this.sendLag.recordValue(toMicros(Math.max(0, request.dispatchedAt - request.scheduledAt)));
    const statusKey = request.statusCode === null ? request.outcome : String(request.statusCode);
    increment(this.statusCounts, statusKey);
    increment(this.outcomeCounts, request.outcome);
    if (request.errorCode !== null) increment(this.errorCodes, request.errorCode);
    const failed =
      request.statusCode === null || request.statusCode < 200 || request.statusCode > 299;
    if (failed) this.errorCount += 1;
    if (request.outcome === 'cancelled') this.cancelled += 1;
    else this.completed += 1;
    this.lastEndedAt = Math.max(this.lastEndedAt, request.endedAt);

    const scheduledBucket = this.bucket(request.scheduledAt);
    scheduledBucket.histogram ??= newHistogram('second');
    scheduledBucket.histogram.recordValue(micros);
    increment(scheduledBucket.outcomes, request.outcome);
    if (failed) scheduledBucket.errors += 1;
    if (request.outcome !== 'cancelled') this.bucket(request.endedAt).completed += 1;

    const index = Math.floor(
      BUCKETS_PER_DECADE *
        Math.log10(Math.max(latencyMs, DISTRIBUTION_FLOOR_MS) / DISTRIBUTION_FLOOR_MS),
    );
    this.distribution[Math.min(DISTRIBUTION_BUCKETS - 1, Math.max(0, index))]! += 1;
  }

  timeseries(): SecondSample[] {
    return this.seconds.map((bucket, second) => ({
      second,
      scheduled: bucket?.scheduled ?? 0,
      completed: bucket?.completed ?? 0,
      errors: bucket?.errors ?? 0,
      latencyMs:
        bucket?.histogram && bucket.histogram.totalCount > 0
          ? {
              p50: toMs(bucket.histogram.getValueAtPercentile(50)),
              p90: toMs(bucket.histogram.getValueAtPercentile(90)),
              p99: toMs(bucket.histogram.getValueAtPercentile(99)),
              max: toMs(bucket.histogram.maxValue),
            }
          : null,
      outcomes: Object.fromEntries(bucket?.outcomes ?? []),
    }));
  }

  latencyDistribution(): DistributionBucket[] {
    const first = this.distribution.findIndex((count) => count > 0);
    if (first < 0) return [];
    const last = this.distribution.findLastIndex((count) => count > 0);
    const edge = (index: number): number =>
      Number((DISTRIBUTION_FLOOR_MS * 10 ** (index / BUCKETS_PER_DECADE)).toPrecision(3));
    return this.distribution.slice(first, last + 1).map((count, offset) => ({
      fromMs: edge(first + offset),
      toMs: edge(first + offset + 1),
      count,
    }));
  }

  private bucket(at: number): SecondBucket {
    // The epsilon keeps a request due exactly on a second boundary in that second despite
    // floating-point error in t0 + i / rate.
    const second = Math.max(0, Math.floor((at - this.measuredStart + 1e-6) / 1000));
    for (let i = this.seconds.length; i <= second; i += 1) {
      this.seconds.push({
        scheduled: 0,
        completed: 0,
        errors: 0,
        histogram: null,
        outcomes: new Map(),
      });
    }
    return this.seconds[second]!;
  }
}

export function summarise(histogram: Histogram): LatencySummary {
  if (histogram.totalCount === 0)
    return { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, min: 0, mean: 0 };
  return {
    p50: toMs(histogram.getValueAtPercentile(50)),
    p90: toMs(histogram.getValueAtPercentile(90)),
    p99: toMs(histogram.getValueAtPercentile(99)),
    p999: toMs(histogram.getValueAtPercentile(99.9)),
    max: toMs(histogram.maxValue),
    min: toMs(histogram.minNonZeroValue),
    mean: toMs(histogram.mean),
  };
}

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
