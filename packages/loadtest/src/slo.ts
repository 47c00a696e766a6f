import { parseDurationMs, formatLatency } from './duration.js';
import type { LatencySummary, ObjectiveResult, SloResult } from './result-types.js';

export type LatencyObjectiveKey = 'p50' | 'p90' | 'p99' | 'p999' | 'max';

/** One service-level objective from `--slo`, e.g. `p99=500ms` or `errors=1%`. */
export type Objective =
  | { kind: 'latency'; key: LatencyObjectiveKey; maxMs: number; text: string }
  | { kind: 'errors'; maxRatio: number; text: string };

const LATENCY_KEYS = new Set<string>(['p50', 'p90', 'p99', 'p999', 'p99.9', 'max']);

/**
 * Parses `p99=500ms,errors=1%`. Latency keys: p50, p90, p99, p999 (or p99.9), max, each with a
 * duration; `errors` takes a percentage (`1%`) or a ratio (`0.01`). Throws an Error whose
 * message names the bad entry.
 */
export function parseSlo(text: string): Objective[] {
  const objectives: Objective[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new Error(`"${entry}" is not KEY=VALUE (e.g. p99=500ms or errors=1%)`);
    const key = entry.slice(0, eq).trim().toLowerCase();
    const value = entry.slice(eq + 1).trim();
    if (LATENCY_KEYS.has(key)) {
      const maxMs = parseDurationMs(value);
      if (maxMs === null)
        throw new Error(`"${entry}": ${value} is not a duration (e.g. 500ms, 2s)`);
      const normalised = (key === 'p99.9' ? 'p999' : key) as LatencyObjectiveKey;
      objectives.push({ kind: 'latency', key: normalised, maxMs, text: entry });
    } else if (key === 'errors') {
      const ratio = parseRatio(value);
      if (ratio === null)
        throw new Error(`"${entry}": ${value} is not a percentage (e.g. 1%) or a ratio (0.01)`);
      objectives.push({ kind: 'errors', maxRatio: ratio, text: entry });
    } else {
      throw new Error(
        `"${entry}": unknown objective "${key}" (use p50, p90, p99, p999, max or errors)`,
      );
    }
  }
  if (objectives.length === 0) throw new Error('no objective given (e.g. p99=500ms,errors=1%)');
  return objectives;
}

function parseRatio(value: string): number | null {
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(value);
  if (percent) {
    const ratio = Number(percent[1]) / 100;
    return ratio <= 1 ? ratio : null;
  }
  if (/^(0|1)(\.\d+)?$/.test(value)) {
    const ratio = Number(value);
    return ratio <= 1 ? ratio : null;
  }
  return null;
}

/** Checks every objective; an objective holds when the measured value is at or below its threshold. */
export function evaluateSlo(
  objectives: readonly Objective[],
  measured: { latencyMs: LatencySummary; errorRatio: number },
): SloResult {
  const results = objectives.map((objective): ObjectiveResult => {
    if (objective.kind === 'latency') {
      const actual = measured.latencyMs[objective.key];
      return {
        objective: objective.text,
        passed: actual <= objective.maxMs,
        actual: formatLatency(actual),
        threshold: formatLatency(objective.maxMs),
      };
    }
    return {
      objective: objective.text,
      passed: measured.errorRatio <= objective.maxRatio,
      actual: formatPercent(measured.errorRatio),
      threshold: formatPercent(objective.maxRatio),
    };
  });
  return { passed: results.every((r) => r.passed), objectives: results };
}

export function formatPercent(ratio: number): string {
  return `${(ratio * 100).toFixed(ratio > 0 && ratio < 0.001 ? 3 : 2)}%`;
}
