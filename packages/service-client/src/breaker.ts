// The circuit breaker: the whole trip rule and the state machine, in this one file.
//
// The breaker guards the *service*, not one endpoint. It hears one result per call, after the safe
// retry (retry.ts) had its chance, so a refused connection to one dead endpoint that the retry
// carried to a live one is a success here. Calls ended by the in-flight limit (`overloaded`) or by
// the breaker itself (`circuit_open`) never reach it. What it counts (CONTRACT "Breaker counting"):
// a 5xx answer, a timeout or an unreachable upstream is a failure; any 2xx-4xx answer a success.
//
// The trip rule, after cockatiel's ConsecutiveBreaker and SamplingBreaker combined:
//   - low volume (fewer than `minimumVolume` calls in the last `windowMs`): open after
//     `failureThreshold` failures in a row. At a click's pace three 500s open it (the UI demo, and
//     Istio's `consecutive5xxErrors: 3`).
//   - high volume (at least `minimumVolume` calls in the window): open when at least `failureRatio`
//     of the window's calls failed. Consecutive failures mean nothing here: losing one replica of
//     two resets the few calls in flight on it at once, a burst of failures in a row among a hundred
//     successes; a whole service failing pushes the ratio past 50 % within half a window.
// Why these numbers: see the README, "Circuit breaker", and docs/contract.md (measured figures).
//
// Own state machine, not opossum: opossum's rule is a percentage with a volume threshold only; the
// consecutive rule needed switching it off and opening by hand, exactly one half-open trial relied on
// its undocumented PENDING_CLOSE flag, and keeping stale calls from deciding half-open meant mutating
// the options object opossum kept. The machine below is 3 states and 5 transitions, tested directly.
import type { BreakerState, Outcome } from './types.js';

export interface BreakerSettings {
  failureThreshold: number;
  failureRatio: number;
  minimumVolume: number;
  windowMs: number;
  resetMs: number;
  onTransition: (from: BreakerState, to: BreakerState) => void;
}

/** What the breaker handed out when it let a call through; given back with the call's result. */
export interface Admission {
  readonly epoch: number;
  readonly trial: boolean;
}

/** What the breaker counts as a failure (CONTRACT: 5xx, timeout, unreachable; never 2xx-4xx). */
export function isBreakerFailure(outcome: Outcome, statusCode: number | null): boolean {
  if (outcome === 'timeout' || outcome === 'unreachable') return true;
  return outcome === 'upstream_error' && statusCode !== null && statusCode >= 500;
}

const BUCKETS = 10;

/** Successes and failures over a sliding window of 10 buckets, advanced lazily (no timer). */
class SlidingCounts {
  readonly #bucketMs: number;
  readonly #failures = new Array<number>(BUCKETS).fill(0);
  readonly #calls = new Array<number>(BUCKETS).fill(0);
  #slot = 0;
  calls = 0;
  failures = 0;

  constructor(windowMs: number) {
    this.#bucketMs = windowMs / BUCKETS;
  }

  add(failed: boolean, now: number): void {
    const index = this.#advance(now);
    this.#calls[index] = (this.#calls[index] ?? 0) + 1;
    this.calls += 1;
    if (failed) {
      this.#failures[index] = (this.#failures[index] ?? 0) + 1;
      this.failures += 1;
    }
  }

  clear(): void {
    this.#calls.fill(0);
    this.#failures.fill(0);
    this.calls = 0;
    this.failures = 0;
  }

  #advance(now: number): number {
    const slot = Math.floor(now / this.#bucketMs);
    const elapsed = slot - this.#slot;
    if (elapsed > 0) {
      for (let i = 1; i <= Math.min(elapsed, BUCKETS); i++) {
        const index = (this.#slot + i) % BUCKETS;
        this.calls -= this.#calls[index] ?? 0;
        this.failures -= this.#failures[index] ?? 0;
        this.#calls[index] = 0;
        this.#failures[index] = 0;
      }
      this.#slot = slot;
    }
    return this.#slot % BUCKETS;
  }
}

export class CircuitBreaker {
  readonly #settings: BreakerSettings;
  readonly #window: SlidingCounts;
  #state: BreakerState = 'closed';
  /** Bumped on every transition: a result from an earlier epoch (a call admitted before the breaker opened) is ignored. */
  #epoch = 0;
  #consecutiveFailures = 0;
  #trialRunning = false;
  #halfOpenAt = 0;
  #timer: NodeJS.Timeout | null = null;
  #shutDown = false;

  constructor(settings: BreakerSettings) {
    this.#settings = settings;
    this.#window = new SlidingCounts(settings.windowMs);
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** Lets a call through (closed; or the one trial when half-open), or returns null: `circuit_open`. */
  tryAdmit(): Admission | null {
    if (this.#state === 'closed') return { epoch: this.#epoch, trial: false };
    if (this.#state === 'half_open' && !this.#trialRunning) {
      this.#trialRunning = true;
      return { epoch: this.#epoch, trial: true };
    }
    return null;
  }

  /** Counts an admitted call's result and applies the trip rule. */
  record(admission: Admission, failed: boolean, now: number = performance.now()): void {
    if (admission.epoch !== this.#epoch) return; // admitted before the last transition: stale
    if (admission.trial) {
      this.#trialRunning = false;
      if (failed) this.#open(now);
      else this.#close();
      return;
    }
    this.#window.add(failed, now);
    this.#consecutiveFailures = failed ? this.#consecutiveFailures + 1 : 0;
    if (failed && this.#state === 'closed' && this.#tripRule()) this.#open(now);
  }

  /** How long until a call may be let through again (for `Retry-After`); 0 when closed. */
  retryAfterMs(now: number = performance.now()): number {
    if (this.#state === 'open') return Math.max(0, this.#halfOpenAt - now);
    return 0;
  }

  /** Clears the reset timer. */
  shutdown(): void {
    this.#shutDown = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** THE trip rule (see the top of this file). */
  #tripRule(): boolean {
    const { failureThreshold, failureRatio, minimumVolume } = this.#settings;
    if (this.#window.calls < minimumVolume) return this.#consecutiveFailures >= failureThreshold;
    return this.#window.failures >= failureRatio * this.#window.calls;
  }

  #open(now: number): void {
    this.#transition('open');
    this.#halfOpenAt = now + this.#settings.resetMs;
    if (this.#shutDown) return; // a call still finishing after close() starts no timer
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#transition('half_open');
    }, this.#settings.resetMs);
    // Never keeps the process alive by itself.
    this.#timer.unref();
  }

  #close(): void {
    this.#window.clear();
    this.#consecutiveFailures = 0;
    this.#transition('closed');
  }

  #transition(to: BreakerState): void {
    const from = this.#state;
    this.#state = to;
    this.#epoch += 1;
    this.#trialRunning = false;
    this.#settings.onTransition(from, to);
  }
}
