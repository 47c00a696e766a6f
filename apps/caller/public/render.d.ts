// Types of render.js for the TypeScript tests in test/ui (the browser loads render.js as is).
/// <reference lib="dom" />

export declare const OUTCOMES: readonly string[];
export declare const BREAKER_STATES: readonly string[];
export declare const HISTORY_LABELS: readonly string[];

export interface HistoryEntry {
  at: number;
  outcome: string;
  label: string;
  producerStatus: unknown;
  callerStatus: unknown;
  latencyMs: number | undefined;
  breakerState: unknown;
}

export type ClassifiedResponse =
  | { kind: 'envelope'; httpStatus: number; envelope: Record<string, unknown> }
  | { kind: 'problem'; httpStatus: number; problem: Record<string, unknown> }
  | { kind: 'unexpected'; httpStatus: number; contentType: string | null; text: string };

export declare function describeOutcome(outcome: unknown, statusCode: unknown): string;
export declare function shortOutcome(outcome: unknown, statusCode: unknown): string;
export declare function formatValue(value: unknown): string;
export declare function formatMs(ms: unknown): string;
export declare function outcomeKey(outcome: unknown): string;
export declare function breakerKey(state: unknown): string;
export declare function breakerLabel(state: unknown): string;
export declare function classifyResponse(
  httpStatus: number,
  contentType: string | null,
  bodyText: string,
): ClassifiedResponse;
export declare function metadataRows(metadata: unknown): Array<[string, string]>;
export declare function renderMetadata(
  title: string,
  metadata: unknown,
  emptyText: string,
): HTMLElement;
export declare function renderHeaders(title: string, headers: unknown): HTMLElement;
export declare function renderResult(
  envelope: Record<string, unknown>,
  context?: { httpStatus?: number; browserMs?: number; traceUrl?: string | null },
): HTMLElement;
export declare function renderProblem(
  problem: Record<string, unknown>,
  httpStatus: number,
): HTMLElement;
export declare function renderUnexpected(
  httpStatus: number,
  contentType: string | null,
  text: string,
): HTMLElement;
export declare function renderNetworkError(message: string): HTMLElement;
export declare function updateBreakerBadge(badge: HTMLElement, state: unknown): void;
export declare function renderHistoryRows(entries: HistoryEntry[]): HTMLTableRowElement[];
