// The per-call deadline, handed to undici as that request's `signal`. undici's `request` takes either an
// AbortSignal or an EventEmitter that emits 'abort' (see undici's Dispatcher.request docs) and, either
// way, aborts only that request and destroys its socket. The emitter form is used because it skips the
// AbortController/AbortSignal construction and `events.addAbortListener` bookkeeping on every call,
// which showed up as a few percent of client CPU in the benchmark.
import { EventEmitter } from 'node:events';

export class Deadline extends EventEmitter {
  /** True once the deadline passed (deliberately not named `aborted`: undici would treat it as an AbortSignal). */
  expired = false;
  readonly #timer: NodeJS.Timeout;

  constructor(ms: number) {
    super();
    this.#timer = setTimeout(() => {
      this.expired = true;
      this.emit('abort');
    }, ms);
    // Never keeps the process alive by itself.
    this.#timer.unref();
  }

  /** Stops the timer once the call is over. */
  clear(): void {
    clearTimeout(this.#timer);
  }
}
