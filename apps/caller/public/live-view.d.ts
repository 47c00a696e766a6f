// Types of live-view.js for the TypeScript tests in test/ui (the browser loads it as is).
/// <reference lib="dom" />
import type { BreakerSpan, ReplicaFigures, SecondFigures } from './live.js';

export declare const OUTCOME_LABELS: Record<string, string>;

export interface TopologyState {
  callerCluster: string;
  viaGateway: boolean | null;
  breakerState: unknown;
  replicas: Array<{ cluster: string; pod: string; recent: number }>;
  lastSecond: Record<string, number>;
  browserErrors: boolean;
}

export declare function renderOutcomeChart(window: SecondFigures[], seconds: number): SVGElement;
export declare function renderLatencyChart(window: SecondFigures[], seconds: number): SVGElement;
export declare function renderBreakerStrip(
  spans: BreakerSpan[],
  firstSecond: number,
  seconds: number,
): SVGElement;
export declare function describeOutcomes(outcomes: Record<string, number>): string;
export declare function renderLegend(): HTMLElement;
export declare function renderReplicaRows(split: ReplicaFigures[]): HTMLTableRowElement[];
export declare function renderSecondRows(seconds: SecondFigures[]): HTMLTableRowElement[];
export declare function renderTopology(state: TopologyState, narrow?: boolean): SVGElement;
