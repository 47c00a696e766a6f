// Turns generator results into one report. A single run is the merge of its one result, so the
// report of `--workers N`, of `merge FILE…` and of a plain run come out of the same code.
// Exact: histograms are merged by adding bucket counts (HdrHistogram's add), so a merged
// percentile is the percentile of one histogram holding every sample; counts are summed.
import type { BreakerState } from './envelope.js';
import { DEFAULT_MAX_SEND_LAG_P99_MS, judgeGenerator } from './generator-health.js';
import { mergeHistograms, percentile, summarise, toMs, type ExactHistogram } from './histograms.js';
import type { LoadResult, ProducerCounts, SecondCounts } from './load-result.js';
import { BUCKETS_PER_DECADE, DISTRIBUTION_BUCKETS, DISTRIBUTION_FLOOR_MS } from './measurement.js';
import type {
  BreakerTransitionSeen,
  CallerBreakerSource,
  DistributionBucket,
  LoadReport,
  ProducerShare,
  SecondSample,
} from './result-types.js';

export interface MergeOptions {
  /** Send-lag p99 above this makes the measurement invalid. **Default:** `50`. */
  maxSendLagP99Ms?: number;
  /**
   * A worker's own report (`--worker I/N`): the other workers' results are merged elsewhere, so
   * they are not missing, and the target is this worker's share of the rate. **Default:** `false`.
   */
  ownShareOnly?: boolean;
}

/** Results that cannot be merged into one run (different runs, the same worker twice). */
export class MergeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MergeError';
  }
}

export function mergeResults(
  results: readonly LoadResult[],
  options: MergeOptions = {},
): LoadReport {
  const first = results[0];
  if (first === undefined) throw new MergeError('no result to merge');
  const workerCount = first.worker.count;
  const seen = new Set<number>();
  for (const result of results) {
    if (result.worker.count !== workerCount || result.rate.total !== first.rate.total) {
      throw new MergeError(
        `results of different runs: worker ${result.worker.index}/${result.worker.count} at ${result.rate.total}/s ` +
          `next to worker ${first.worker.index}/${workerCount} at ${first.rate.total}/s`,
      );
    }
    if (result.url !== first.url) {
      throw new MergeError(`results of different runs: ${result.url} next to ${first.url}`);
    }
    if (seen.has(result.worker.index)) {
      throw new MergeError(`worker ${result.worker.index} of ${workerCount} is there twice`);
    }
    seen.add(result.worker.index);
  }
  const missing: number[] = [];
  for (let index = 0; index < workerCount; index += 1) {
    if (!seen.has(index) && options.ownShareOnly !== true) missing.push(index);
  }
  const ordered = [...results].sort((a, b) => a.worker.index - b.worker.index);

  // One time base: the earliest measured start. Workers started with the same --start-at share
  // it exactly; others (separate pods) are placed by their clocks, seconds rounded to whole ones.
  const base = Math.min(...ordered.map((r) => r.measuredStartEpochMs));
  const offsetMs = (r: LoadResult): number => r.measuredStartEpochMs - base;

  const latency = mergeHistograms(ordered.map((r) => r.latency));
  const serviceTime = mergeHistograms(ordered.map((r) => r.serviceTime));
  const sendLag = mergeHistograms(ordered.map((r) => r.sendLag));
  const requests = sum(ordered.map((r) => r.requests));
  const completed = sum(ordered.map((r) => r.completed));
  const errorCount = sum(ordered.map((r) => r.errorCount));
  const measuredEnd = Math.max(...ordered.map((r) => offsetMs(r) + r.measuredEndMs));
  const measuredSeconds = Math.max(1e-3, measuredEnd / 1000);
  const distribution = new Array<number>(DISTRIBUTION_BUCKETS).fill(0);
  for (const r of ordered) r.distribution.forEach((count, i) => (distribution[i]! += count));
  const breaker = mergeBreaker(ordered, offsetMs);
  const caller = callerRecord(ordered, offsetMs);
  const generator = judgeGenerator(sendLag, {
    maxSendLagP99Ms: options.maxSendLagP99Ms ?? DEFAULT_MAX_SEND_LAG_P99_MS,
    missingWorkers: missing,
    workerCount,
  });

  return {
    requests,
    rate: round(completed / measuredSeconds, 2),
    targetRate:
      options.ownShareOnly === true
        ? round(sum(ordered.map((r) => r.rate.worker)), 6)
        : first.rate.total,
    latencyMs: summarise(latency),
    statusCounts: sumCounts(ordered.map((r) => r.statusCounts)),
    outcomeCounts: sumCounts(ordered.map((r) => r.outcomeCounts)),
    breakerTransitions: caller.transitions,
    callerBreaker: caller.source,
    envelopeBreakerTransitions: breaker.transitions,
    byProducer: mergeProducers(ordered),
    generator,
    workers: {
      count: workerCount,
      results: ordered.map((r) => ({
        index: r.worker.index,
        rate: r.rate.worker,
        requests: r.requests,
        completed: r.completed,
        sendLagP99Ms: summarise(r.sendLag).p99,
      })),
    },
    url: first.url,
    startedAt: new Date(Math.min(...ordered.map((r) => r.startedAtEpochMs))).toISOString(),
    durationMs: round(Math.max(...ordered.map((r) => offsetMs(r) + r.durationMs)), 1),
    warmupMs: round(Math.max(...ordered.map((r) => r.warmupMs)), 1),
    connections: sum(ordered.map((r) => r.connections)),
    graceMs: Math.max(...ordered.map((r) => r.graceMs)),
    completed,
    cancelled: sum(ordered.map((r) => r.cancelled)),
    errorCount,
    errorRatio: requests === 0 ? 0 : errorCount / requests,
    errors: sumCounts(ordered.map((r) => r.errors)),
    serviceTimeMs: summarise(serviceTime),
    sendLagMs: generator.sendLagMs,
    breakerStates: { first: breaker.first, last: breaker.last },
    timeseries: mergeSeconds(ordered, offsetMs),
    latencyDistribution: distributionBuckets(distribution),
  };
}

function mergeSeconds(
  results: readonly LoadResult[],
  offsetMs: (r: LoadResult) => number,
): SecondSample[] {
  const merged: { counts: SecondCounts[]; latency: ExactHistogram[] }[] = [];
  for (const result of results) {
    const shift = Math.round(offsetMs(result) / 1000);
    result.seconds.forEach((second, i) => {
      const slot = (merged[shift + i] ??= { counts: [], latency: [] });
      slot.counts.push(second);
      if (second.latency) slot.latency.push(second.latency);
    });
  }
  const samples: SecondSample[] = [];
  for (let second = 0; second < merged.length; second += 1) {
    const slot = merged[second] ?? { counts: [], latency: [] };
    const latency = slot.latency.length > 0 ? mergeHistograms(slot.latency, 'second') : null;
    samples.push({
      second,
      scheduled: sum(slot.counts.map((c) => c.scheduled)),
      completed: sum(slot.counts.map((c) => c.completed)),
      errors: sum(slot.counts.map((c) => c.errors)),
      latencyMs:
        latency && latency.histogram.totalCount > 0
          ? {
              p50: toMs(percentile(latency, 50)),
              p90: toMs(percentile(latency, 90)),
              p99: toMs(percentile(latency, 99)),
              max: toMs(latency.max),
            }
          : null,
      outcomes: sumCounts(slot.counts.map((c) => c.outcomes)),
    });
  }
  return samples;
}

/**
 * Every worker sees the same caller's breaker through its own answers, so the same change shows
 * up once per worker a few ms apart, and a worker that was descheduled for a moment reports its
 * changes late. In time order, a change whose `from` is not the state the merged view is in was
 * already reported by another worker (a duplicate) or is a late view of a state already left
 * (stale), and is left out. One result passes unchanged: each of its transitions leaves the
 * state the previous one reached.
 */
function mergeBreaker(
  results: readonly LoadResult[],
  offsetMs: (r: LoadResult) => number,
): { first: BreakerState | null; last: BreakerState | null; transitions: BreakerTransitionSeen[] } {
  const all = results
    .flatMap((r) =>
      r.breaker.transitions.map((t) => ({ ...t, atMs: round(t.atMs + offsetMs(r), 1) })),
    )
    .sort((a, b) => a.atMs - b.atMs);
  const first =
    all[0]?.from ?? results.find((r) => r.breaker.first !== null)?.breaker.first ?? null;
  let state = first;
  const transitions: BreakerTransitionSeen[] = [];
  for (const transition of all) {
    if (state !== null && transition.from !== state) continue;
    transitions.push({ atMs: transition.atMs, from: transition.from, to: transition.to });
    state = transition.to;
  }
  const lastSeen = results.findLast((r) => r.breaker.last !== null)?.breaker.last ?? null;
  const last = results.length === 1 || transitions.length === 0 ? lastSeen : state;
  return { first, last, transitions };
}

/**
 * The caller's own record: one per run, read by one worker (worker 0 by default). Should several
 * workers have read it, the lowest index's is taken whole (they saw the same stream), never a
 * mix that would double its transitions.
 */
function callerRecord(
  results: readonly LoadResult[],
  offsetMs: (r: LoadResult) => number,
): { source: CallerBreakerSource | null; transitions: BreakerTransitionSeen[] } {
  const result = results.find((r) => r.callerBreaker !== null);
  const record = result?.callerBreaker;
  if (!result || !record) return { source: null, transitions: [] };
  return {
    source: {
      url: record.url,
      recorded: record.recorded,
      error: record.error,
      initialState: record.initialState,
      finalState: record.finalState,
    },
    transitions: record.transitions.map((t) => ({
      atMs: round(t.atMs + offsetMs(result), 1),
      from: t.from,
      to: t.to,
      at: t.at,
    })),
  };
}

function mergeProducers(results: readonly LoadResult[]): ProducerShare[] {
  const groups = new Map<string, ProducerCounts[]>();
  for (const producer of results.flatMap((r) => r.byProducer)) {
    const key = `${producer.cluster ?? ''}\u0000${producer.pod ?? ''}`;
    const group = groups.get(key);
    if (group) group.push(producer);
    else groups.set(key, [producer]);
  }
  return [...groups.values()]
    .map((group): ProducerShare => ({
      cluster: group[0]!.cluster,
      pod: group[0]!.pod,
      requests: sum(group.map((p) => p.requests)),
      outcomeCounts: sumCounts(group.map((p) => p.outcomeCounts)),
      latencyMs: summarise(mergeHistograms(group.map((p) => p.latency))),
    }))
    .sort(
      (a, b) =>
        Number(a.cluster === null) - Number(b.cluster === null) ||
        (a.cluster ?? '').localeCompare(b.cluster ?? '') ||
        (a.pod ?? '').localeCompare(b.pod ?? ''),
    );
}

function distributionBuckets(distribution: readonly number[]): DistributionBucket[] {
  const first = distribution.findIndex((count) => count > 0);
  if (first < 0) return [];
  const last = distribution.findLastIndex((count) => count > 0);
  const edge = (index: number): number =>
    Number((DISTRIBUTION_FLOOR_MS * 10 ** (index / BUCKETS_PER_DECADE)).toPrecision(3));
  return distribution.slice(first, last + 1).map((count, offset) => ({
    fromMs: edge(first + offset),
    toMs: edge(first + offset + 1),
    count,
  }));
}

function sumCounts(parts: readonly Record<string, number>[]): Record<string, number> {
  const total: Record<string, number> = {};
  for (const part of parts) {
    for (const [key, count] of Object.entries(part)) total[key] = (total[key] ?? 0) + count;
  }
  return total;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
