import type { Histogram } from 'hdr-histogram-js';
import type { BreakerState } from './envelope.js';
import { exact, newHistogram, toMicros } from './histograms.js';
import type { MeasuredCounts, ProducerCounts, SecondCounts } from './load-result.js';
import type { BreakerTransitionSeen } from './result-types.js';

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
  /** From the envelope's producerMetadata; null when no producer answered. */
  producerCluster: string | null;
  producerPod: string | null;
}

// The distribution chart uses fixed log buckets, 10 per decade from 10 µs: readable at a glance,
// independent of HDR's internal bucket layout.
export const DISTRIBUTION_FLOOR_MS = 0.01;
export const BUCKETS_PER_DECADE = 10;
export const DISTRIBUTION_BUCKETS = 90;

interface SecondBucket {
  scheduled: number;
  completed: number;
  errors: number;
  histogram: Histogram | null;
  outcomes: Map<string, number>;
}

interface ProducerBucket {
  cluster: string | null;
  pod: string | null;
  requests: number;
  outcomes: Map<string, number>;
  latency: Histogram;
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
  // Cluster → pod → bucket (null keys for "no producer"): two Map lookups per answer and no
  // key string built per request.
  private readonly producers = new Map<string | null, Map<string | null, ProducerBucket>>();

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

    let pods = this.producers.get(request.producerCluster);
    if (pods === undefined) {
      pods = new Map();
      this.producers.set(request.producerCluster, pods);
    }
    let producer = pods.get(request.producerPod);
    if (producer === undefined) {
      producer = {
        cluster: request.producerCluster,
        pod: request.producerPod,
        requests: 0,
        outcomes: new Map(),
        latency: newHistogram(),
      };
      pods.set(request.producerPod, producer);
    }
    producer.requests += 1;
    increment(producer.outcomes, request.outcome);
    producer.latency.recordValue(micros);

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

  /** Everything recorded, in the form a result (and a result file) holds. */
  counts(): MeasuredCounts {
    return {
      requests: this.requests,
      completed: this.completed,
      cancelled: this.cancelled,
      errorCount: this.errorCount,
      statusCounts: Object.fromEntries(this.statusCounts),
      outcomeCounts: Object.fromEntries(this.outcomeCounts),
      errors: Object.fromEntries(this.errorCodes),
      distribution: [...this.distribution],
      latency: exact(this.latency),
      serviceTime: exact(this.serviceTime),
      sendLag: exact(this.sendLag),
      seconds: this.seconds.map((bucket): SecondCounts => ({
        scheduled: bucket.scheduled,
        completed: bucket.completed,
        errors: bucket.errors,
        outcomes: Object.fromEntries(bucket.outcomes),
        latency: bucket.histogram ? exact(bucket.histogram) : null,
      })),
      breaker: {
        first: this.firstBreakerState,
        last: this.breakerState,
        transitions: [...this.breakerTransitions],
      },
      byProducer: [...this.producers.values()]
        .flatMap((pods) => [...pods.values()])
        .map((producer): ProducerCounts => ({
          cluster: producer.cluster,
          pod: producer.pod,
          requests: producer.requests,
          outcomeCounts: Object.fromEntries(producer.outcomes),
          latency: exact(producer.latency),
        })),
    };
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

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
