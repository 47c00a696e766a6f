// The shape of one load run's result (what `--json` writes): types only, imported by the modules
// that measure, judge and render it and importing none of them.
import type { BreakerState } from './envelope.js';

/** Percentiles in milliseconds. `p999` is the 99.9th percentile. */
export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  min: number;
  mean: number;
}

export interface BreakerTransitionSeen {
  /**
   * Milliseconds since the start of the measured time: when the caller's event arrived (its own
   * record), or when the answer carrying the new state arrived (envelopes).
   */
  atMs: number;
  from: BreakerState;
  to: BreakerState;
  /** The caller's own time of the transition (ISO 8601); only in its record. */
  at?: string;
}

/** Where the breaker timeline comes from: the caller's `GET /caller/events` stream. */
export interface CallerBreakerSource {
  /** The events URL read (by worker 0 when there are several). */
  url: string;
  /** True when the stream was open from before the measured start to the end of the run. */
  recorded: boolean;
  /** Why the record is missing or incomplete; null when complete. */
  error: string | null;
  initialState: BreakerState | null;
  finalState: BreakerState | null;
}

/** One second of the measured time. Requests are counted in the second they were scheduled. */
export interface SecondSample {
  second: number;
  /** Requests scheduled in this second (the target rate). */
  scheduled: number;
  /** Requests whose answer (or failure) arrived in this second: the achieved throughput. */
  completed: number;
  /** Requests scheduled in this second that got no 2xx answer. */
  errors: number;
  /** Latency (from scheduled send time) of the requests scheduled in this second; null when none finished. */
  latencyMs: { p50: number; p90: number; p99: number; max: number } | null;
  outcomes: Record<string, number>;
}

export interface DistributionBucket {
  fromMs: number;
  toMs: number;
  count: number;
}

export interface ObjectiveResult {
  objective: string;
  passed: boolean;
  /** The measured value, or "no samples" (then the objective failed: a gate never passes vacuously). */
  actual: string;
  threshold: string;
}

/** Requests answered by one producer pod (from the envelope's `producerMetadata`). */
export interface ProducerShare {
  /** `producerMetadata.clusterName`; null for requests no producer answered (circuit_open, timeout, errors, …). */
  cluster: string | null;
  /** `producerMetadata.podName`; null as above. */
  pod: string | null;
  requests: number;
  outcomeCounts: Record<string, number>;
  /** Latency from scheduled send time of these requests. */
  latencyMs: LatencySummary;
}

/** The generator judging itself: was it on schedule, so that the latencies are the target's? */
export interface GeneratorHealth {
  /** How late requests were handed to the connection pool compared with their schedule. */
  sendLagMs: { p50: number; p99: number; max: number };
  /** The measurement is invalid when the send lag's p99 is above this. */
  maxSendLagP99Ms: number;
  valid: boolean;
  /** Why it is invalid; null when valid. */
  reason: string | null;
}

/** One generator process's share of a run. */
export interface WorkerShare {
  index: number;
  /** Its share of the target rate, per second. */
  rate: number;
  requests: number;
  completed: number;
  sendLagP99Ms: number;
}

/** The `--slo` verdict: every objective's result, passed when all passed. */
export interface SloResult {
  passed: boolean;
  objectives: ObjectiveResult[];
}

/** Everything one run measured; `--json` writes this object. */
export interface LoadReport {
  /** Measured requests: scheduled in the measured time (after warm-up), each accounted for. */
  requests: number;
  /** Achieved rate per second: measured requests that finished (answered or failed, not cancelled) per second. */
  rate: number;
  targetRate: number;
  /** Latency from each request's scheduled send time (coordinated omission corrected). */
  latencyMs: LatencySummary;
  /** Keys: HTTP status ("200", "502", …), "error" (no answer: connection failure) and "cancelled". */
  statusCounts: Record<string, number>;
  /** Keys: the envelope's outcome, "invalid" (answer without an envelope), "error" and "cancelled". */
  outcomeCounts: Record<string, number>;
  /**
   * The caller's own breaker transitions (its `GET /caller/events` stream, read by one worker),
   * none missed however short the cycle; empty when the stream could not be read, and then
   * `callerBreaker.error` says why.
   */
  breakerTransitions: BreakerTransitionSeen[];
  /** The source of `breakerTransitions`; null when the stream was not asked for (`--breaker-events off`). */
  callerBreaker: CallerBreakerSource | null;
  /**
   * Inferred, not the caller's record: state changes seen in the envelopes' `breaker.state`, in
   * arrival order (a cycle between two answers is missed). Merged from several workers: in time
   * order, a change another worker already reported is left out.
   */
  envelopeBreakerTransitions: BreakerTransitionSeen[];
  /** Per producer cluster and pod, sorted by cluster then pod; requests no producer answered last. */
  byProducer: ProducerShare[];
  generator: GeneratorHealth;
  /** How many generator processes the run was split over, and each one's share. */
  workers: { count: number; results: WorkerShare[] };

  url: string;
  startedAt: string;
  durationMs: number;
  warmupMs: number;
  connections: number;
  graceMs: number;
  /** Requests that got an HTTP answer or a connection failure before the end. */
  completed: number;
  /** Requests still unanswered when the grace period after the measured time ended. */
  cancelled: number;
  /** Requests without a 2xx answer (error statuses, connection failures, cancelled). */
  errorCount: number;
  errorRatio: number;
  /** Connection-level failures by code (ECONNREFUSED, UND_ERR_SOCKET, …). */
  errors: Record<string, number>;
  /**
   * Latency from the moment a request was actually written to a socket: what a closed-loop tool
   * (wrk, autocannon without a rate) reports. Compare it with `latencyMs` to see queueing.
   */
  serviceTimeMs: LatencySummary;
  /** Same as `generator.sendLagMs` (kept for existing readers). */
  sendLagMs: { p50: number; p99: number; max: number };
  /** First and last breaker state seen in the envelopes (inferred, like envelopeBreakerTransitions). */
  breakerStates: { first: BreakerState | null; last: BreakerState | null };
  timeseries: SecondSample[];
  latencyDistribution: DistributionBucket[];
  slo?: SloResult;
}
