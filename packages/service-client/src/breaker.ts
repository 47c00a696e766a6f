// Consecutive-failure circuit breaker on top of opossum.
//
// opossum trips on a failure *percentage* over a rolling window; the contract (and Istio's outlier
// detection, `consecutive5xxErrors: 3`) wants N *consecutive* failures. So opossum's own trip is
// switched off (volumeThreshold = never reached) and this class counts consecutive failures from
// opossum's `success`/`failure` events, calling `open()` itself. opossum still owns the rest of the
// state machine, which already has the wanted semantics: while open `fire()` rejects with
// EOPENBREAKER without running the action; after `resetTimeout` it is half-open and admits exactly one
// call (PENDING_CLOSE is cleared by the first `fire()`, later ones are rejected); that call's success
// closes it, its failure re-opens it.
import CircuitBreaker from 'opossum';
import type { BreakerState } from './types.js';

/** Thrown by the guarded action to make opossum record a failure; carries the action's value. */
export class CountedFailure<T> extends Error {
  constructor(readonly value: T) {
    super('counted failure');
  }
}

export interface BreakerSettings {
  failureThreshold: number;
  resetMs: number;
  onTransition: (from: BreakerState, to: BreakerState) => void;
}

/** Slack after the last admitted call's deadline for its abort to settle. */
const STALE_CALL_MARGIN_MS = 100;

export class ConsecutiveFailureBreaker<A extends unknown[], R> {
  readonly #breaker: CircuitBreaker<A, R>;
  readonly #options: CircuitBreaker.Options<A>;
  readonly #threshold: number;
  readonly #resetMs: number;
  #consecutiveFailures = 0;
  #state: BreakerState = 'closed';
  /** Deadlines (`performance.now()` base) of admitted calls still running. */
  readonly #inFlight = new Set<{ deadlineAt: number }>();

  constructor(action: (...args: A) => Promise<R>, settings: BreakerSettings) {
    this.#threshold = settings.failureThreshold;
    this.#resetMs = settings.resetMs;
    // A fresh options object per breaker: opossum stores and mutates the object it is given.
    this.#options = {
      // Deadlines belong to the per-call Deadline (deadline.ts), which aborts the request itself
      // through undici's dispatch controller; opossum's timeout would only stop waiting and leave
      // the request running.
      timeout: false,
      resetTimeout: settings.resetMs,
      // Never reached: the percentage trip is replaced by consecutive counting below.
      volumeThreshold: Number.MAX_SAFE_INTEGER,
      errorThresholdPercentage: 100,
      // Only CountedFailure is a failure; any other error (a bug) is not the upstream's fault.
      errorFilter: (err: unknown) => !(err instanceof CountedFailure),
      // No periodic snapshot events: nobody listens, and each is a timer tick.
      enableSnapshots: false,
      rollingPercentilesEnabled: false,
    };
    this.#breaker = new CircuitBreaker<A, R>(action, this.#options);
    this.#breaker.on('success', () => {
      this.#consecutiveFailures = 0;
    });
    this.#breaker.on('failure', () => {
      // Runs before every opening (ours below, and opossum's own when a half-open trial fails), and
      // opossum reads `resetTimeout` when the open state starts its timer. Stretching it past the
      // deadline of every call already admitted means no such call can finish while half-open, so the
      // half-open decision rests on the one trial call alone. With timeoutMs < resetMs (the defaults:
      // 3 s and 15 s) this never changes anything.
      this.#options.resetTimeout = this.#openPeriod();
      this.#consecutiveFailures += 1;
      if (this.#state === 'closed' && this.#consecutiveFailures >= this.#threshold) {
        this.#breaker.open();
      }
    });
    const transition = (to: BreakerState): void => {
      const from = this.#state;
      if (from === to) return;
      this.#state = to;
      if (to !== 'half_open') this.#consecutiveFailures = 0;
      settings.onTransition(from, to);
    };
    this.#breaker.on('open', () => transition('open'));
    this.#breaker.on('halfOpen', () => transition('half_open'));
    this.#breaker.on('close', () => transition('closed'));
  }

  /** Registers an admitted call until `settled(token)`; `deadlineAt` uses `performance.now()`. */
  admitted(deadlineAt: number): { deadlineAt: number } {
    const token = { deadlineAt };
    this.#inFlight.add(token);
    return token;
  }

  settled(token: { deadlineAt: number }): void {
    this.#inFlight.delete(token);
  }

  /** resetMs, or longer when an admitted call could still be running after it. */
  #openPeriod(): number {
    let latest = 0;
    for (const { deadlineAt } of this.#inFlight) if (deadlineAt > latest) latest = deadlineAt;
    if (latest === 0) return this.#resetMs;
    return Math.max(this.#resetMs, Math.ceil(latest - performance.now()) + STALE_CALL_MARGIN_MS);
  }

  /** Runs the action through the breaker; rejects with code EOPENBREAKER when not admitted. */
  fire(...args: A): Promise<R> {
    return this.#breaker.fire(...args);
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** Clears the reset timer and the stats interval. */
  shutdown(): void {
    this.#breaker.shutdown();
  }
}
