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
  /** Milliseconds since the start of the measured time, when the answer carrying the new state arrived. */
  atMs: number;
  from: BreakerState;
  to: BreakerState;
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
  actual: string;
  threshold: string;
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
  /** Breaker state changes seen in the envelopes' `breaker.state`, in arrival order. */
  breakerTransitions: BreakerTransitionSeen[];

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
  /** How late the generator handed requests to the connection pool compared with their schedule (its own health). */
  sendLagMs: { p50: number; p99: number; max: number };
  breakerStates: { first: BreakerState | null; last: BreakerState | null };
  timeseries: SecondSample[];
  latencyDistribution: DistributionBucket[];
  slo?: SloResult;
}
