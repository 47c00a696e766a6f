// The per-call deadline: one unref'd timer per call that aborts whichever attempt of that call is
// running. Aborting goes through undici's per-request dispatch controller, so only that request is
// cancelled and its socket destroyed (the server sees the close); other calls are untouched.
import { DEADLINE_CODE } from './classify.js';

/** Something the deadline can cancel: the running attempt's response collector. */
export interface Abortable {
  abort(reason: Error): void;
}

export class Deadline {
  /** True once the deadline passed. */
  expired = false;
  readonly #timeoutMs: number;
  readonly #timer: NodeJS.Timeout;
  #target: Abortable | null = null;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
    this.#timer = setTimeout(() => {
      this.expired = true;
      this.#target?.abort(this.#error());
    }, timeoutMs);
    // Never keeps the process alive by itself.
    this.#timer.unref();
  }

  /** Makes `target` the attempt to abort when the deadline passes (at once if it already has). */
  watch(target: Abortable): void {
    this.#target = target;
    if (this.expired) target.abort(this.#error());
  }

  /** Stops the timer once the call is over. */
  clear(): void {
    clearTimeout(this.#timer);
    this.#target = null;
  }

  #error(): Error {
    return Object.assign(new Error(`deadline of ${this.#timeoutMs} ms exceeded`), {
      code: DEADLINE_CODE,
    });
  }
}
