// The HDR histograms a run records, how they are summarised, and their lossless text form for
// result files.
import { createRequire } from 'node:module';
import type { Histogram } from 'hdr-histogram-js';
import type { LatencySummary } from './result-types.js';

// Values are recorded in microseconds: 1 µs resolution, up to one hour, 3 significant digits
// (0.1% error), the settings wrk2 and HdrHistogram's own examples use. The JS implementation is
// used on purpose: the WebAssembly one needs an async init and gains nothing at these rates.
// The run-wide histograms use plain 32-bit counters (fastest to record, ~190 KB each); the
// per-second ones are packed (a few KB each, so hour-long runs stay small) with 2 digits, plenty
// for a chart.
export type HistogramKind = 'run' | 'second';
type HistogramClass = new (lowest: number, highest: number, digits: number) => Histogram;
// The two histogram classes straight from their CommonJS modules: the package index also loads
// the WebAssembly build and the log writer (~100 ms of start-up CPU for nothing here). require()
// because ESM default-import interop of these modules differs between Node and Vitest.
const require = createRequire(import.meta.url);
const Int32Histogram = (
  require('hdr-histogram-js/dist/Int32Histogram') as { default: HistogramClass }
).default;
const PackedHistogram = (
  require('hdr-histogram-js/dist/PackedHistogram') as { default: HistogramClass }
).default;

export function newHistogram(kind: HistogramKind = 'run'): Histogram {
  const histogram: Histogram =
    kind === 'run'
      ? new Int32Histogram(1, 3_600_000_000, 3)
      : new PackedHistogram(1, 3_600_000_000, 2);
  histogram.autoResize = true;
  return histogram;
}

/**
 * A histogram with its exact smallest and largest value (µs). The encoded form keeps every
 * count but only the bucket of the extremes (a decoded histogram's max is its bucket's highest
 * equivalent value), so the exact ones travel next to it and a merge takes theirs.
 */
export interface ExactHistogram {
  histogram: Histogram;
  /** Smallest recorded value in µs; 0 when empty. */
  min: number;
  /** Largest recorded value in µs; 0 when empty. */
  max: number;
}

export function exact(histogram: Histogram): ExactHistogram {
  return histogram.totalCount === 0
    ? { histogram, min: 0, max: 0 }
    : { histogram, min: histogram.minNonZeroValue, max: histogram.maxValue };
}

/** One histogram holding every sample of the inputs (bucket counts added: exact). */
export function mergeHistograms(
  parts: readonly ExactHistogram[],
  kind: HistogramKind = 'run',
): ExactHistogram {
  const histogram = newHistogram(kind);
  let min = 0;
  let max = 0;
  for (const part of parts) {
    if (part.histogram.totalCount === 0) continue;
    histogram.add(part.histogram);
    min = min === 0 ? part.min : Math.min(min, part.min);
    max = Math.max(max, part.max);
  }
  return { histogram, min, max };
}

export const toMicros = (ms: number): number => Math.max(1, Math.round(ms * 1000));
export const toMs = (micros: number): number => Math.round(micros) / 1000;

/**
 * The value at a percentile (µs): HdrHistogram's answer is the highest value of the bucket, which
 * can lie above the largest value recorded; capped at that, so no percentile exceeds the max
 * (the bug Locust's distributed p99 has).
 */
export function percentile({ histogram, max }: ExactHistogram, p: number): number {
  return Math.min(histogram.getValueAtPercentile(p), max);
}

export function summarise(value: ExactHistogram): LatencySummary {
  if (value.histogram.totalCount === 0)
    return { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, min: 0, mean: 0 };
  return {
    p50: toMs(percentile(value, 50)),
    p90: toMs(percentile(value, 90)),
    p99: toMs(percentile(value, 99)),
    p999: toMs(percentile(value, 99.9)),
    max: toMs(value.max),
    min: toMs(value.min),
    mean: toMs(value.histogram.mean),
  };
}

/** The text form in a result file: HdrHistogram's compressed V2 encoding, base64. */
export interface EncodedHistogram {
  count: number;
  min: number;
  max: number;
  hdr: string;
}

interface Encoding {
  encodeIntoCompressedBase64(histogram: Histogram): string;
  decodeFromCompressedBase64(text: string, bitBucketSize: 32 | 'packed'): Histogram;
}
let encoding: Encoding | undefined;
// Loaded on first use only: it pulls in the WebAssembly build (~0.2 s of CPU), which a run that
// writes no result file never needs.
function loadEncoding(): Encoding {
  encoding ??= require('hdr-histogram-js/dist/encoding') as Encoding;
  return encoding;
}

export function encodeHistogram(value: ExactHistogram): EncodedHistogram {
  return {
    count: value.histogram.totalCount,
    min: value.min,
    max: value.max,
    hdr: loadEncoding().encodeIntoCompressedBase64(value.histogram),
  };
}

export function decodeHistogram(value: EncodedHistogram, kind: HistogramKind): ExactHistogram {
  const histogram = loadEncoding().decodeFromCompressedBase64(
    value.hdr,
    kind === 'run' ? 32 : 'packed',
  );
  if (histogram.totalCount !== value.count)
    throw new Error(`histogram holds ${histogram.totalCount} values, expected ${value.count}`);
  return { histogram, min: value.min, max: value.max };
}
