// An undici dispatch handler that reads one response to its end. Used instead of `Agent.request()`
// because the client needs no stream: it always wants the whole (small, JSON) body, and the handler
// API also tells exactly whether any byte of the response arrived (`onResponseStarted`), which is what
// decides whether a broken request may be retried. The body is always consumed to the end or the
// request aborted; nothing is left half-read.
import type { Dispatcher } from 'undici';

export interface CollectedResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export class ResponseCollector implements Dispatcher.DispatchHandler {
  /** True once any byte of the response arrived (before its headers were parsed). */
  responseStarted = false;
  readonly promise: Promise<CollectedResponse>;
  #resolve!: (response: CollectedResponse) => void;
  #reject!: (err: unknown) => void;
  #settled = false;
  #controller: Dispatcher.DispatchController | null = null;
  #abortReason: Error | null = null;
  #statusCode = 0;
  #headers: Record<string, string | string[] | undefined> = {};
  #chunks: Buffer[] = [];

  constructor() {
    this.promise = new Promise<CollectedResponse>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** Cancels the request (queued or in flight) and settles at once with `reason`. */
  abort(reason: Error): void {
    if (this.#settled) return;
    this.#abortReason = reason;
    // In flight: undici destroys the socket. Still queued in the pool: aborted in onRequestStart.
    this.#controller?.abort(reason);
    this.#fail(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.#abortReason !== null) {
      controller.abort(this.#abortReason);
      return;
    }
    this.#controller = controller;
  }

  onResponseStarted(): void {
    this.responseStarted = true;
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return; // 1xx informational: the real answer follows
    this.#statusCode = statusCode;
    this.#headers = headers;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#controller = null;
    const chunks = this.#chunks;
    const text =
      chunks.length === 0
        ? ''
        : chunks.length === 1
          ? (chunks[0] as Buffer).toString('utf8')
          : Buffer.concat(chunks).toString('utf8');
    this.#chunks = [];
    this.#resolve({ statusCode: this.#statusCode, headers: this.#headers, text });
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, err: Error): void {
    this.#fail(err);
  }

  #fail(err: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#controller = null;
    this.#chunks = [];
    this.#reject(err);
  }
}
