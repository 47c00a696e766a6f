import { parseDurationMs, formatLatency } from './duration.js';
import type { LatencySummary, ObjectiveResult, SloResult } from './result-types.js';

export type LatencyObjectiveKey = 'p50' | 'p90' | 'p99' | 'p999' | 'max';
/** `<` strictly below; `<=` and the older `=` at most. */
export type UpperBound = '<' | '<=';
/** `>` strictly above; `>=` at least. */
export type LowerBound = '>' | '>=';

/** One service-level objective from `--slo`, e.g. `p99<250ms`, `errors<0.1%` or `rate>=95%`. */
export type Objective =
  | { kind: 'latency'; key: LatencyObjectiveKey; op: UpperBound; limitMs: number; text: string }
  | { kind: 'errors'; op: UpperBound; limitRatio: number; text: string }
  /** Achieved rate: per second, or (`relative`) as a fraction of the target rate. */
  | { kind: 'rate'; op: LowerBound; limit: number; relative: boolean; text: string };

const LATENCY_KEYS = new Set<string>(['p50', 'p90', 'p99', 'p999', 'p99.9', 'max']);
// Longest operators first, so `<=` is not read as `<` followed by "=250ms".
const OBJECTIVE_PATTERN = /^([a-z0-9.]+)\s*(<=|>=|<|>|=)\s*(.+)$/;

/**
 * Parses `p99<250ms,errors<0.1%,rate>=95%`. Latency keys p50, p90, p99, p999 (or p99.9), max take
 * a duration; `errors` a percentage (`1%`) or a ratio (`0.01`); both with `<`, `<=` or `=`
 * (at most: the older form, kept for the Job and scripts that use it). `rate` takes `>=` or `>`
 * and a rate per second (`190`) or a percentage of the target rate (`95%`). Throws an Error whose
 * message names the bad entry.
 */
export function parseSlo(text: string): Objective[] {
  const objectives: Objective[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const match = OBJECTIVE_PATTERN.exec(entry.toLowerCase());
    if (!match) {
      throw new Error(`"${entry}" is not KEY<VALUE (e.g. p99<250ms, errors<0.1% or rate>=95%)`);
    }
    const [, key = '', op = '', value = ''] = match;
    if (LATENCY_KEYS.has(key) || key === 'errors') {
      if (op === '>' || op === '>=') {
        throw new Error(`"${entry}": ${key} takes an upper limit (${key}<… or ${key}<=…)`);
      }
      const upper: UpperBound = op === '<' ? '<' : '<=';
      if (key === 'errors') {
        const ratio = parseRatio(value);
        if (ratio === null)
          throw new Error(`"${entry}": ${value} is not a percentage (e.g. 1%) or a ratio (0.01)`);
        objectives.push({ kind: 'errors', op: upper, limitRatio: ratio, text: entry });
      } else {
        const limitMs = parseDurationMs(value);
        if (limitMs === null)
          throw new Error(`"${entry}": ${value} is not a duration (e.g. 250ms, 2s)`);
        const normalised = (key === 'p99.9' ? 'p999' : key) as LatencyObjectiveKey;
        objectives.push({ kind: 'latency', key: normalised, op: upper, limitMs, text: entry });
      }
    } else if (key === 'rate') {
      if (op !== '>' && op !== '>=') {
        throw new Error(`"${entry}": rate takes a lower limit (rate>=95% or rate>=190)`);
      }
      const percent = /^(\d+(?:\.\d+)?)%$/.exec(value);
      const perSecond = /^\d+(?:\.\d+)?$/.test(value) ? Number(value) : Number.NaN;
      if (percent) {
        objectives.push({
          kind: 'rate',
          op,
          limit: Number(percent[1]) / 100,
          relative: true,
          text: entry,
        });
      } else if (Number.isFinite(perSecond)) {
        objectives.push({ kind: 'rate', op, limit: perSecond, relative: false, text: entry });
      } else {
        throw new Error(
          `"${entry}": ${value} is not a rate per second (190) or a percentage of the target (95%)`,
        );
      }
    } else {
      throw new Error(
        `"${entry}": unknown objective "${key}" (use p50, p90, p99, p999, max, errors or rate)`,
      );
    }
  }
  if (objectives.length === 0) throw new Error('no objective given (e.g. p99<250ms,errors<1%)');
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

/** What the objectives are checked against (a LoadReport has all of it). */
export interface SloInput {
  requests: number;
  latencyMs: LatencySummary;
  errorRatio: number;
  rate: number;
  targetRate: number;
}

const NO_SAMPLES = 'no samples';

/**
 * Checks every objective against the (merged) measurement. No measured request fails every
 * objective: a gate that passes on nothing would pass a run that measured nothing.
 */
export function evaluateSlo(objectives: readonly Objective[], measured: SloInput): SloResult {
  const empty = measured.requests === 0;
  const results = objectives.map((objective): ObjectiveResult => {
    if (objective.kind === 'latency') {
      const actual = measured.latencyMs[objective.key];
      return {
        objective: objective.text,
        passed: !empty && below(actual, objective.op, objective.limitMs),
        actual: empty ? NO_SAMPLES : formatLatency(actual),
        threshold: `${objective.op} ${formatLatency(objective.limitMs)}`,
      };
    }
    if (objective.kind === 'errors') {
      return {
        objective: objective.text,
        passed: !empty && below(measured.errorRatio, objective.op, objective.limitRatio),
        actual: empty ? NO_SAMPLES : formatPercent(measured.errorRatio),
        threshold: `${objective.op} ${formatPercent(objective.limitRatio)}`,
      };
    }
    const actual = objective.relative ? measured.rate / measured.targetRate : measured.rate;
    const passed = objective.op === '>' ? actual > objective.limit : actual >= objective.limit;
    return {
      objective: objective.text,
      passed: !empty && passed,
      actual: empty
        ? NO_SAMPLES
        : objective.relative
          ? `${formatPercent(actual)} of ${measured.targetRate}/s (${measured.rate}/s)`
          : `${measured.rate}/s`,
      threshold: `${objective.op} ${objective.relative ? formatPercent(objective.limit) : `${objective.limit}/s`}`,
    };
  });
  return { passed: results.every((r) => r.passed), objectives: results };
}

function below(actual: number, op: UpperBound, limit: number): boolean {
  return op === '<' ? actual < limit : actual <= limit;
}

export function formatPercent(ratio: number): string {
  return `${(ratio * 100).toFixed(ratio > 0 && ratio < 0.001 ? 3 : 2)}%`;
}
