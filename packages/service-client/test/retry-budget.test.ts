import { describe, expect, it } from 'vitest';
import { RetryBudget } from '../src/retry-budget.js';

describe('RetryBudget', () => {
  it('allows retries up to ratio x calls in the window', () => {
    const budget = new RetryBudget({ ratio: 0.1, minRetriesPerSecond: 0, windowMs: 10_000 });
    for (let i = 0; i < 100; i++) budget.recordCall(1000);
    const granted = Array.from({ length: 15 }, () => budget.tryAcquire(1000)).filter(Boolean);
    expect(granted).toHaveLength(10);
  });

  it('always allows the per-second floor', () => {
    const budget = new RetryBudget({ ratio: 0.1, minRetriesPerSecond: 1, windowMs: 5000 });
    budget.recordCall(0);
    const granted = Array.from({ length: 10 }, () => budget.tryAcquire(0)).filter(Boolean);
    expect(granted).toHaveLength(5);
  });

  it('forgets calls and retries that slid out of the window', () => {
    const budget = new RetryBudget({ ratio: 1, minRetriesPerSecond: 0, windowMs: 1000 });
    budget.recordCall(0);
    expect(budget.tryAcquire(0)).toBe(true);
    expect(budget.tryAcquire(0)).toBe(false);
    // 1.5 s later the call and its retry are gone: no calls, so no retries either.
    expect(budget.tryAcquire(1500)).toBe(false);
    budget.recordCall(1500);
    expect(budget.tryAcquire(1500)).toBe(true);
  });
});
