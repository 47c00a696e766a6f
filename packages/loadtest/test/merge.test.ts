import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { newHistogram, toMicros, toMs } from '../src/histograms.js';
import {
  encodeResult,
  parseResults,
  ResultFileError,
  RESULT_FORMAT,
  type LoadResult,
} from '../src/load-result.js';
import { Measurement, type RequestRecord } from '../src/measurement.js';
import { MergeError, mergeResults } from '../src/merge.js';
import type { LoadReport } from '../src/result-types.js';
import { renderSummary } from '../src/summary.js';

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MEASURED_START = 5000; // performance.now() time of the measured start
const EPOCH_START = 1_800_000_000_000;
const RATE = 100;
const COUNT = 3000; // 30 s at 100/s

/** Request k of a global 100/s schedule with a random latency, status and producer. */
function samples(seed: number): RequestRecord[] {
  const next = random(seed);
  const clusters = ['cluster-1', 'cluster-2'];
  return Array.from({ length: COUNT }, (_, k): RequestRecord => {
    const scheduledAt = MEASURED_START + k * (1000 / RATE);
    // Log-uniform from 0.05 ms to 5 s: every HDR bucket size gets exercised.
    const latency = 0.05 * 10 ** (next() * 5);
    const roll = next();
    const answered = roll > 0.02;
    const status = !answered ? null : roll < 0.1 ? 503 : roll < 0.15 ? 502 : 200;
    const outcome = !answered
      ? 'error'
      : status === 503
        ? 'circuit_open'
        : status === 502
          ? 'upstream_error'
          : 'ok';
    const producer = status === 200 || status === 502;
    const cluster = clusters[Math.floor(next() * 2)]!;
    return {
      scheduledAt,
      dispatchedAt: scheduledAt + next() * 3,
      sentAt: answered ? scheduledAt + next() * 5 : null,
      endedAt: scheduledAt + latency,
      statusCode: status,
      outcome,
      breakerState: null,
      errorCode: answered ? null : 'ECONNREFUSED',
      producerCluster: producer ? cluster : null,
      producerPod: producer ? `${cluster}-pod-${Math.floor(next() * 3)}` : null,
    };
  });
}

/** What runLoadResult would return for a measurement of the requests k with k mod count = index. */
function resultOf(
  records: readonly RequestRecord[],
  index: number,
  count: number,
  breakerStates: Partial<Record<number, 'closed' | 'open' | 'half_open'>> = {},
): LoadResult {
  const measurement = new Measurement(MEASURED_START);
  records.forEach((record, k) => {
    if (k % count !== index) return;
    measurement.scheduled(record.scheduledAt);
    measurement.observeBreaker(breakerStates[k] ?? null, record.endedAt, true);
    measurement.record(record);
  });
  return {
    ...measurement.counts(),
    worker: { index, count },
    rate: { worker: RATE / count, total: RATE },
    url: 'http://127.0.0.1:8080/caller/messages',
    startedAtEpochMs: EPOCH_START,
    measuredStartEpochMs: EPOCH_START,
    durationMs: (COUNT * 1000) / RATE,
    measuredEndMs: Math.max((COUNT * 1000) / RATE, measurement.lastEndedAt - MEASURED_START),
    warmupMs: 0,
    graceMs: 5000,
    connections: 64,
    callerBreaker: null,
  };
}

/** Through the file format and back: what `merge` reads. */
function viaFile(result: LoadResult): LoadResult {
  const [decoded] = parseResults(encodeResult(result), 'test');
  return decoded!;
}

/** The report without what differs by design between 1 and N workers. */
function comparable(report: LoadReport): Omit<LoadReport, 'workers' | 'connections'> {
  const { workers: _workers, connections: _connections, ...rest } = report;
  return rest;
}

describe('exact merge', () => {
  const records = samples(16);
  const whole = mergeResults([resultOf(records, 0, 1)]);
  const parts = [0, 1, 2].map((index) => resultOf(records, index, 3));
  const merged = mergeResults(parts.map(viaFile));

  it('merged percentiles equal those of one histogram of all samples', () => {
    const all = newHistogram();
    for (const r of records) all.recordValue(toMicros(r.endedAt - r.scheduledAt));
    // HdrHistogram answers a bucket's highest value; no percentile is reported above the max.
    const exact = (p: number): number => toMs(Math.min(all.getValueAtPercentile(p), all.maxValue));
    expect(merged.latencyMs).toEqual({
      p50: exact(50),
      p90: exact(90),
      p99: exact(99),
      p999: exact(99.9),
      max: toMs(all.maxValue),
      min: toMs(all.minNonZeroValue),
      mean: toMs(all.mean),
    });
    expect(merged.latencyMs.max).toBe(
      Math.max(...records.map((r) => toMs(toMicros(r.endedAt - r.scheduledAt)))),
    );
  });

  it('a merge of 3 worker files reports exactly what one run of every sample does', () => {
    // Per-second percentiles, service time, send lag, distribution, byProducer: all exact.
    expect(comparable(merged)).toEqual(comparable(whole));
    expect(merged.timeseries).toHaveLength(whole.timeseries.length);
    expect(merged.workers.count).toBe(3);
    expect(merged.workers.results.map((w) => w.requests)).toEqual([1000, 1000, 1000]);
    expect(merged.connections).toBe(3 * 64);
  });

  it('sums the counts', () => {
    expect(merged.requests).toBe(COUNT);
    expect(merged.requests).toBe(parts.reduce((n, p) => n + p.requests, 0));
    const sumOf = (counts: Record<string, number>): number =>
      Object.values(counts).reduce((a, b) => a + b, 0);
    expect(sumOf(merged.statusCounts)).toBe(COUNT);
    expect(sumOf(merged.outcomeCounts)).toBe(COUNT);
    expect(merged.byProducer.reduce((n, p) => n + p.requests, 0)).toBe(COUNT);
    for (const key of Object.keys(merged.statusCounts)) {
      expect(merged.statusCounts[key]).toBe(
        parts.reduce((n, p) => n + (p.statusCounts[key] ?? 0), 0),
      );
    }
    expect(merged.timeseries.reduce((n, s) => n + s.scheduled, 0)).toBe(COUNT);
    expect(merged.targetRate).toBe(RATE);
  });

  it('groups byProducer by cluster and pod, with the requests no producer answered last', () => {
    const names = merged.byProducer.map((p) => `${p.cluster}/${p.pod}`);
    expect(names).toEqual([
      'cluster-1/cluster-1-pod-0',
      'cluster-1/cluster-1-pod-1',
      'cluster-1/cluster-1-pod-2',
      'cluster-2/cluster-2-pod-0',
      'cluster-2/cluster-2-pod-1',
      'cluster-2/cluster-2-pod-2',
      'null/null',
    ]);
    const none = merged.byProducer.at(-1)!;
    expect(Object.keys(none.outcomeCounts).sort()).toEqual(['circuit_open', 'error']);
  });

  it('a single run is the merge of its one result, and the file round-trips it exactly', () => {
    const one = resultOf(records, 0, 1);
    expect(mergeResults([viaFile(one)])).toEqual(mergeResults([one]));
    const line = encodeResult(one);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.trimEnd()).not.toContain('\n');
    expect(JSON.parse(line)).toMatchObject({ format: RESULT_FORMAT, requests: COUNT });
  });
});

describe('reading result files', () => {
  const records = samples(7);
  const lines = [0, 1].map((index) => encodeResult(resultOf(records, index, 2)));

  it('picks result lines out of a log (kubectl logs, with or without --prefix)', () => {
    const log =
      `s2s-loadtest  http://x\n  p99 ...\n${lines[0]}` +
      `[pod/s2s-loadtest-1-abcde/loadtest] ${lines[1]}` +
      'asked the sidecar to quit\n';
    const results = parseResults(log, 'pods.log');
    expect(results.map((r) => r.worker.index)).toEqual([0, 1]);
    expect(mergeResults(results).requests).toBe(COUNT);
  });

  it("`pnpm loadtest merge` of an Indexed Job's `kubectl logs --prefix` equals one histogram of all samples", async () => {
    // 3 pods of the Job, each with its summary (stderr) and its result line (stdout) in its log;
    // `kubectl logs -l job-name=… --prefix` interleaves the pods' lines, each with its pod's prefix.
    const all = samples(33);
    const count = 3;
    const podLogs = [0, 1, 2].map((index) => {
      const result = resultOf(all, index, count);
      const prefix = `[pod/s2s-loadtest-${index}-${'x7k2p'.slice(index)}q/loadtest] `;
      const lines = [
        `s2s-loadtest: starting worker ${index}/${count}`,
        encodeResult(result).trimEnd(),
        ...renderSummary(mergeResults([result], { ownShareOnly: true }))
          .trimEnd()
          .split('\n'),
        'asked the sidecar to quit (http://127.0.0.1:15020/quitquitquit): HTTP 200',
      ];
      return lines.map((line) => `${prefix}${line}`);
    });
    const interleaved: string[] = [];
    for (let i = 0; interleaved.length < podLogs.flat().length; i += 1)
      for (const log of [podLogs[2]!, podLogs[0]!, podLogs[1]!])
        if (log[i]) interleaved.push(log[i]!);
    const dir = await mkdtemp(join(tmpdir(), 's2s-loadtest-kubectl-logs-'));
    try {
      const file = join(dir, 'results.log');
      await writeFile(file, `${interleaved.join('\n')}\n`);
      const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
      const stdout = await new Promise<string>((resolve, reject) =>
        execFile(
          process.execPath,
          [cli, 'merge', file, '--max-send-lag', '10s', '--json', '-'],
          { maxBuffer: 64 * 1024 * 1024 },
          (error, out, err) =>
            error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out),
        ),
      );
      const report = JSON.parse(stdout) as LoadReport;
      const histogram = newHistogram();
      for (const r of all) histogram.recordValue(toMicros(r.endedAt - r.scheduledAt));
      const at = (p: number): number =>
        toMs(Math.min(histogram.getValueAtPercentile(p), histogram.maxValue));
      expect(report.requests).toBe(COUNT);
      expect(report.workers.results.map((w) => w.index)).toEqual([0, 1, 2]);
      expect(report.latencyMs).toMatchObject({
        p50: at(50),
        p90: at(90),
        p99: at(99),
        p999: at(99.9),
        max: toMs(histogram.maxValue),
        min: toMs(histogram.minNonZeroValue),
      });
      const outcomes: Record<string, number> = {};
      for (const r of all) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
      expect(report.outcomeCounts).toEqual(outcomes);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('names the file and the problem when it is not a result', () => {
    expect(() => parseResults('{"requests":1}', 'report.json')).toThrow(ResultFileError);
    expect(() => parseResults('{"requests":1}', 'report.json')).toThrow(/report\.json.*format/);
    expect(() => parseResults('hello\n', 'x.log')).toThrow(/x\.log: no s2s-loadtest result/);
    const wrongVersion = lines[0]!.replace(RESULT_FORMAT, 's2s-loadtest-result/99');
    expect(() => parseResults(wrongVersion, 'old.json')).toThrow(/written by another version/);
    const noOutcomes = lines[0]!.replace(/"outcomes":\{[^}]*\}/, '"outcomes":null');
    expect(() => parseResults(noOutcomes, 'cut.json')).toThrow(/cut\.json: "seconds\[0\]"/);
    const broken = lines[0]!.replace(/"hdr":"[^"]{10}/, '"hdr":"AAAA');
    expect(() => parseResults(broken, 'broken.json')).toThrow(/broken\.json/);
  });
});

describe('merging workers of one run', () => {
  const records = samples(3);

  it('refuses the same worker twice and results of different runs', () => {
    const a = resultOf(records, 0, 2);
    expect(() => mergeResults([a, a])).toThrow(MergeError);
    const other = { ...resultOf(records, 1, 2), rate: { worker: 100, total: 200 } };
    expect(() => mergeResults([a, other])).toThrow(/different runs/);
  });

  it('reports a missing worker as an invalid measurement', () => {
    const report = mergeResults([resultOf(records, 0, 3), resultOf(records, 2, 3)]);
    expect(report.generator.valid).toBe(false);
    expect(report.generator.reason).toContain('no result from worker 1 of 3');
    // A worker's own report misses nobody, and its target is its own share.
    const own = mergeResults([resultOf(records, 1, 3)], { ownShareOnly: true });
    expect(own.generator.valid).toBe(true);
    expect(own.targetRate).toBeCloseTo(RATE / 3, 6);
  });

  it('never reports a percentile above the max', () => {
    const report = mergeResults([0, 1].map((index) => resultOf(records, index, 2)));
    const l = report.latencyMs;
    expect([l.p50, l.p90, l.p99, l.p999].every((p) => p <= l.max)).toBe(true);
    for (const second of report.timeseries) {
      if (second.latencyMs) expect(second.latencyMs.p99).toBeLessThanOrEqual(second.latencyMs.max);
    }
  });

  it('judges the merged send lag against the threshold', () => {
    const parts = [0, 1].map((index) => resultOf(records, index, 2));
    // Send lag in these samples is below 3 ms.
    expect(mergeResults(parts).generator).toMatchObject({ valid: true, reason: null });
    const strict = mergeResults(parts, { maxSendLagP99Ms: 1 }).generator;
    expect(strict.valid).toBe(false);
    expect(strict.reason).toMatch(/send lag p99 .*ms is above 1ms/);
    expect(strict.maxSendLagP99Ms).toBe(1);
  });

  it('places workers by their measured start and keeps one copy of a breaker change seen by several', () => {
    // Requests 1000.. open the breaker: both workers see it, 10 ms apart.
    const states: Record<number, 'closed' | 'open'> = {};
    for (let k = 0; k < COUNT; k += 1) states[k] = k >= 1000 && k < 2000 ? 'open' : 'closed';
    const parts = [0, 1].map((index) => resultOf(records, index, 2, states));
    const report = mergeResults(parts);
    expect(report.envelopeBreakerTransitions.map((t) => `${t.from}->${t.to}`)).toEqual([
      'closed->open',
      'open->closed',
    ]);
    expect(report.breakerStates).toEqual({ first: 'closed', last: 'closed' });
    // A worker descheduled for a moment reports open → half_open after the other worker already
    // saw half_open → closed: a late view of a state already left, not a new cycle.
    const cycle = (
      ...changes: [number, 'closed' | 'open' | 'half_open', 'closed' | 'open' | 'half_open'][]
    ) => changes.map(([atMs, from, to]) => ({ atMs, from, to }));
    const onTime = {
      ...parts[0]!,
      breaker: {
        first: 'closed' as const,
        last: 'closed' as const,
        transitions: cycle(
          [100, 'closed', 'open'],
          [500, 'open', 'half_open'],
          [600, 'half_open', 'closed'],
        ),
      },
    };
    const late = {
      ...parts[1]!,
      breaker: {
        first: 'closed' as const,
        last: 'closed' as const,
        transitions: cycle(
          [105, 'closed', 'open'],
          [610, 'open', 'half_open'],
          [615, 'half_open', 'closed'],
        ),
      },
    };
    expect(mergeResults([onTime, late]).envelopeBreakerTransitions).toEqual(
      onTime.breaker.transitions,
    );
    // A worker whose clock put its measured start 2 s later: its seconds move by 2.
    const later = { ...parts[1]!, measuredStartEpochMs: EPOCH_START + 2000 };
    const shifted = mergeResults([parts[0]!, later]);
    expect(shifted.timeseries.length).toBe(report.timeseries.length + 2);
    expect(shifted.timeseries.reduce((n, s) => n + s.scheduled, 0)).toBe(COUNT);
  });
});
