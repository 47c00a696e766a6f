// Types of live.js for the TypeScript tests in test/ui (the browser loads live.js as is).

export declare const LIMITS: Readonly<{
  rate: { min: number; max: number };
  durationSeconds: { min: number; max: number };
  share: { min: number; max: number };
  delayMs: { min: number; max: number };
  responseCode: { min: number; max: number };
  maxInFlight: number;
}>;
export declare const WINDOW_SECONDS: number;
export declare const LIVE_OUTCOMES: readonly string[];

export interface LiveSettings {
  rate: number;
  durationSeconds: number;
  delayShare: number;
  delayMs: number;
  errorShare: number;
  responseCode: number;
}

export interface CallRecord {
  atMs: number;
  outcome: string;
  latencyMs: number | undefined;
  replica: { cluster: string; pod: string } | null;
}

export interface SecondFigures {
  second: number;
  calls: number;
  outcomes: Record<string, number>;
  p50: number | undefined;
  p90: number | undefined;
  p99: number | undefined;
}

export interface ReplicaFigures {
  cluster: string;
  pod: string;
  calls: number;
  ok: number;
  recent: number;
}

export interface BreakerSpan {
  state: string;
  fromMs: number;
  toMs: number;
}

export declare function checkLiveSettings(
  settings: Record<string, unknown>,
): { field: string; message: string } | null;
export declare function faultPlan(settings: LiveSettings): {
  next(): { delay: number; responseCode: number };
};
export declare function percentile(sorted: number[], p: number): number | undefined;
export declare function replicaOf(metadata: unknown): { cluster: string; pod: string } | null;
export declare class LiveStats {
  sent: number;
  skipped: number;
  completed: number;
  totals: Record<string, number>;
  record(call: CallRecord): void;
  figures(second: number): SecondFigures;
  window(now: number, count?: number): SecondFigures[];
  replicaSplit(second: number): ReplicaFigures[];
}
export declare function breakerSpans(
  events: Array<{ state: string; atEpochMs: number }>,
  startEpochMs: number,
  nowEpochMs: number,
): BreakerSpan[];
export declare function traceUrl(template: unknown, traceId: unknown, base: string): string | null;
