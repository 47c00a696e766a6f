// Admission: a limit on calls in flight (what Envoy calls *circuit breaking*, max_requests). A call
// beyond the limit ends at once as `overloaded`: nothing is queued, no request is sent, and the
// breaker never hears of it, because the caller's own load is not the upstream's fault.
//
// The limit is at most the pool's connection count (checked in service-client.ts), so a call that is
// admitted always finds a socket (or opens one) and never waits in undici's pool queue: the deadline
// is then charged only for time really spent with the upstream. Before this limit, 200 concurrent
// 2 s calls on a 128-socket pool under a 3 s deadline gave 72 timeouts that opened the breaker.

/** Suggested `Retry-After` for an overloaded call: calls in flight finish within their deadline, most far sooner. */
export const OVERLOADED_RETRY_AFTER_MS = 1000;

export class InFlightLimit {
  readonly #max: number;
  #inFlight = 0;

  constructor(max: number) {
    this.#max = max;
  }

  /** Takes a slot; false (and nothing taken) when the limit is reached. */
  tryAcquire(): boolean {
    if (this.#inFlight >= this.#max) return false;
    this.#inFlight += 1;
    return true;
  }

  /** Gives back a slot taken by `tryAcquire`. */
  release(): void {
    this.#inFlight -= 1;
  }

  get inFlight(): number {
    return this.#inFlight;
  }
}
