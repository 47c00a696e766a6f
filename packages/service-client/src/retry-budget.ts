// A retry budget after Finagle's RetryBudget and Linkerd's retryBudget: retries may add at most `ratio`
// extra requests per call over a sliding window, plus a small floor so a quiet client can still retry.
// Without it, a retry layer multiplies load exactly when the upstream is failing (every failed call
// becomes two requests), and retries stacked across layers (client x mesh x gateway) multiply again.

/** Resolved retry budget settings. */
export interface RetryBudgetSettings {
  ratio: number;
  minRetriesPerSecond: number;
  windowMs: number;
}

const BUCKETS = 10;

/** Counts calls and retries in time buckets; computed lazily, so it owns no timer. */
export class RetryBudget {
  readonly #bucketMs: number;
  readonly #floor: number;
  readonly #ratio: number;
  readonly #calls = new Array<number>(BUCKETS).fill(0);
  readonly #retries = new Array<number>(BUCKETS).fill(0);
  #currentSlot = 0;
  #callTotal = 0;
  #retryTotal = 0;

  constructor(settings: RetryBudgetSettings) {
    this.#bucketMs = settings.windowMs / BUCKETS;
    this.#floor = (settings.minRetriesPerSecond * settings.windowMs) / 1000;
    this.#ratio = settings.ratio;
  }

  /** Records one call (not counting its retry). */
  recordCall(now: number = performance.now()): void {
    const index = this.#advance(now);
    this.#calls[index] = (this.#calls[index] ?? 0) + 1;
    this.#callTotal += 1;
  }

  /** Takes one retry from the budget; false when the budget is spent. */
  tryAcquire(now: number = performance.now()): boolean {
    const index = this.#advance(now);
    const allowed = this.#floor + this.#callTotal * this.#ratio;
    if (this.#retryTotal + 1 > allowed) return false;
    this.#retries[index] = (this.#retries[index] ?? 0) + 1;
    this.#retryTotal += 1;
    return true;
  }

  /** Moves the window to `now`, dropping buckets that fell out; returns the current bucket index. */
  #advance(now: number): number {
    const slot = Math.floor(now / this.#bucketMs);
    const elapsed = slot - this.#currentSlot;
    if (elapsed > 0) {
      const clear = Math.min(elapsed, BUCKETS);
      for (let i = 1; i <= clear; i++) {
        const index = (this.#currentSlot + i) % BUCKETS;
        this.#callTotal -= this.#calls[index] ?? 0;
        this.#retryTotal -= this.#retries[index] ?? 0;
        this.#calls[index] = 0;
        this.#retries[index] = 0;
      }
      this.#currentSlot = slot;
    }
    return this.#currentSlot % BUCKETS;
  }
}
