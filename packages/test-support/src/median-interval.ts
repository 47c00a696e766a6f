// The benches report the median of paired per-round ratios. On a shared machine single rounds
// swing by ±30 % or more, so a median alone can land on either side of a target by chance. This
// adds a distribution-free confidence interval for the median (order statistics: nothing assumed
// about how the machine's noise is distributed) and the verdict a target can honestly get from it:
// met only when the whole interval clears the target, missed only when it lies wholly below.

/** P(B ≤ j) for B ~ Binomial(n, 1/2). */
function binomialHalfCdf(n: number, j: number): number {
  let term = 1 / 2 ** n; // C(n, 0) / 2^n
  let sum = term;
  for (let k = 1; k <= j; k++) {
    term = (term * (n - k + 1)) / k;
    sum += term;
  }
  return sum;
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  return middleOf([...values].sort((a, b) => a - b));
}

/** The median of values already sorted ascending. */
function middleOf(sorted: readonly number[]): number {
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export interface MedianInterval {
  median: number;
  low: number;
  high: number;
  /** The probability that the interval holds the true median. */
  coverage: number;
  n: number;
}

export type Verdict = 'met' | 'missed' | 'inconclusive';

/**
 * Median of `values` and the interval [x(k), x(n+1-k)] of the sorted values with the largest k
 * whose coverage, 1 − 2·P(B ≤ k−1), is still at least `level`. With few values no k reaches
 * `level`; the interval is then the whole range and `coverage` says how sure it is.
 * `level` **Default:** `0.9`.
 */
export function medianInterval(values: readonly number[], level = 0.9): MedianInterval {
  const n = values.length;
  if (n === 0) throw new RangeError('medianInterval: no values');
  const sorted = [...values].sort((a, b) => a - b);
  let k = 1;
  while (k < n + 1 - k - 1 && 1 - 2 * binomialHalfCdf(n, k) >= level) k++;
  return {
    median: middleOf(sorted),
    low: sorted[k - 1]!,
    high: sorted[n - k]!,
    coverage: 1 - 2 * binomialHalfCdf(n, k - 1),
    n,
  };
}

/**
 * `met` when the interval's low end reaches `target`, `missed` when its high end is below it,
 * else `inconclusive`: the noise of this run is larger than the distance to the target, or there
 * were too few rounds for the interval to reach `level` (fewer than 5 at 90 %).
 * `level` **Default:** `0.9`.
 */
export function verdict(
  interval: Pick<MedianInterval, 'low' | 'high' | 'coverage'>,
  target: number,
  level = 0.9,
): Verdict {
  if (interval.coverage < level) return 'inconclusive';
  if (interval.low >= target) return 'met';
  if (interval.high < target) return 'missed';
  return 'inconclusive';
}

/** `0.823 (90 % interval 0.781–0.884, 9 rounds)` */
export function formatInterval({ median, low, high, coverage, n }: MedianInterval): string {
  return `${median.toFixed(3)} (${Math.floor(coverage * 100)} % interval ${low.toFixed(3)}–${high.toFixed(3)}, ${n} rounds)`;
}
