import { describe, expect, it } from 'vitest';
import { formatInterval, medianInterval, verdict } from '../src/median-interval.js';

describe('medianInterval', () => {
  it('takes the median of odd and even counts, in any order', () => {
    expect(medianInterval([3, 1, 2]).median).toBe(2);
    expect(medianInterval([4, 1, 3, 2]).median).toBe(2.5);
  });

  it('widens to the whole range when too few rounds reach the level, and says how sure that is', () => {
    // 5 values: [x1, x5] covers 1 - 2/32 = 93.75 %; [x2, x4] only 1 - 12/32 = 62.5 %.
    expect(medianInterval([5, 1, 4, 2, 3])).toEqual({
      median: 3,
      low: 1,
      high: 5,
      coverage: 0.9375,
      n: 5,
    });
    expect(medianInterval([7]).coverage).toBe(0);
  });

  it('drops outer rounds once enough remain: 9 rounds give [x2, x8] at 96 %, 20 give [x6, x15]', () => {
    const nine = medianInterval([9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect([nine.low, nine.high]).toEqual([2, 8]);
    expect(nine.coverage).toBeCloseTo(1 - 2 * (10 / 512), 12);
    const twenty = medianInterval(Array.from({ length: 20 }, (_, i) => i + 1));
    expect([twenty.low, twenty.high]).toEqual([6, 15]);
    expect(twenty.coverage).toBeGreaterThanOrEqual(0.9);
    // One more value dropped on each side would fall below 90 %.
    expect(
      medianInterval(
        Array.from({ length: 20 }, (_, i) => i + 1),
        0.95,
      ).low,
    ).toBe(6);
    expect(
      medianInterval(
        Array.from({ length: 20 }, (_, i) => i + 1),
        0.8,
      ).low,
    ).toBe(7);
  });

  it('rejects an empty list', () => {
    expect(() => medianInterval([])).toThrow(RangeError);
  });
});

describe('verdict', () => {
  it('is met only when the whole interval clears the target, missed only when all of it is below', () => {
    expect(verdict({ low: 0.86, high: 0.95, coverage: 0.96 }, 0.85)).toBe('met');
    expect(verdict({ low: 0.85, high: 0.95, coverage: 0.96 }, 0.85)).toBe('met');
    expect(verdict({ low: 0.7, high: 0.84, coverage: 0.96 }, 0.85)).toBe('missed');
    expect(verdict({ low: 0.8, high: 0.9, coverage: 0.96 }, 0.85)).toBe('inconclusive');
  });

  it('judges nothing from too few rounds: one or four rounds stay inconclusive, five can decide', () => {
    expect(verdict(medianInterval([1.2]), 0.85)).toBe('inconclusive');
    expect(verdict(medianInterval([1.2, 1.1, 1.3, 1.25]), 0.85)).toBe('inconclusive');
    expect(verdict(medianInterval([1.2, 1.1, 1.3, 1.25, 0.95]), 0.85)).toBe('met');
    expect(verdict(medianInterval([0.5, 0.6, 0.7, 0.65, 0.55]), 0.85)).toBe('missed');
  });

  it('formats the median with its interval', () => {
    expect(formatInterval(medianInterval([0.9, 0.8, 0.85, 0.82, 0.88]))).toBe(
      '0.850 (93 % interval 0.800–0.900, 5 rounds)',
    );
  });
});
