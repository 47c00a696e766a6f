// The caller's own record of its breaker: `GET /caller/events` (docs/contract.md, "Both apps")
// sends a `breaker` event with the state on connect and one on every transition, so a cycle
// shorter than the gap between two answers (open → half_open → open inside one second) is
// never missed, as it can be when the state is inferred from the envelopes.
import type { ClientRequest, IncomingMessage, request as httpRequest } from 'node:http';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import type { BreakerState } from './envelope.js';

// node:http through require(), when first needed: importing it as an ES module evaluates every
// export, and some of them load Node's bundled undici (~40 ms of start-up CPU for nothing here).
const require = createRequire(import.meta.url);
type Request = typeof httpRequest;

const STATES = new Set<string>(['closed', 'open', 'half_open']);
/** How long the run waits for the first event before it starts without it. */
export const CONNECT_WAIT_MS = 3000;
/** Longer lines are not the caller's events: the stream is dropped rather than buffered forever. */
const MAX_BUFFER_CHARS = 64 * 1024;

/** One transition as the caller reported it. */
export interface CallerTransition {
  /** Milliseconds since the measured start, by this process's clock when the event arrived. */
  atMs: number;
  from: BreakerState;
  to: BreakerState;
  /** The caller's own time of the transition (ISO 8601), as sent. */
  at: string;
}

/** What the events stream gave for one run. */
export interface CallerBreakerRecord {
  /** The events URL that was read. */
  url: string;
  /** True when the stream was open from before the measured start to the end of the run. */
  recorded: boolean;
  /** Why the record is missing or incomplete (unreachable, not an event stream, closed early); null when complete. */
  error: string | null;
  /** State at the measured start; null when unknown. */
  initialState: BreakerState | null;
  /** State at the end of the run; null when unknown. */
  finalState: BreakerState | null;
  /** Every transition from the measured start to the end, in the caller's order. */
  transitions: CallerTransition[];
}

interface Received {
  /** performance.now() when it arrived. */
  time: number;
  state: BreakerState;
  from: BreakerState | null;
  at: string;
}

/**
 * `/caller/events` beside the load test's URL: `…/caller/messages` → `…/caller/events` (a path
 * prefix such as a gateway's `/api` is kept), any other path → `/caller/events` on its origin.
 */
export function defaultEventsUrl(target: URL): URL {
  const url = new URL(target.href);
  url.search = '';
  url.pathname = url.pathname.endsWith('/caller/messages')
    ? `${url.pathname.slice(0, -'/messages'.length)}/events`
    : '/caller/events';
  return url;
}

/**
 * Reads the caller's events stream from `start()` until `stop()`. Never throws: every failure
 * becomes the record's `error`, so a run without the stream still reports, and says why.
 */
export class BreakerEventsWatcher {
  private readonly events: Received[] = [];
  private request: ClientRequest | null = null;
  private error: string | null = null;
  private connectedAt: number | null = null;
  private stopped = false;
  private firstEvent: Promise<void>;
  private resolveFirstEvent!: () => void;

  constructor(readonly url: URL) {
    this.firstEvent = new Promise((resolve) => (this.resolveFirstEvent = resolve));
  }

  /** Connects; resolves when the first event (the state on connect) arrived, failed or took too long. */
  start(waitMs = CONNECT_WAIT_MS): Promise<void> {
    const send = (
      require(this.url.protocol === 'https:' ? 'node:https' : 'node:http') as { request: Request }
    ).request;
    const request = send(this.url, {
      method: 'GET',
      headers: { accept: 'text/event-stream', 'cache-control': 'no-cache' },
    });
    this.request = request;
    request.on('response', (response) => this.read(response));
    request.on('error', (error: NodeJS.ErrnoException) => {
      this.fail(`${error.code ?? error.name}: ${error.message}`);
    });
    request.end();
    // Slow to answer: the run starts anyway; stop() says whether the stream caught up in time.
    const timer = setTimeout(() => this.resolveFirstEvent(), waitMs);
    return this.firstEvent.finally(() => clearTimeout(timer));
  }

  /** Ends the stream and returns what it recorded, times relative to `measuredStart` (performance.now() ms). */
  stop(measuredStart: number): CallerBreakerRecord {
    if (!this.stopped) {
      this.stopped = true;
      this.request?.destroy();
    }
    let state: BreakerState | null = null;
    let initialState: BreakerState | null = null;
    const transitions: CallerTransition[] = [];
    for (const event of this.events) {
      if (event.time < measuredStart) {
        state = event.state;
        initialState = state;
        continue;
      }
      initialState ??= event.from ?? event.state;
      // The connect event (from: null) repeats the state; a transition names where it came from.
      if (event.from !== null && event.from !== event.state) {
        transitions.push({
          atMs: Math.round((event.time - measuredStart) * 10) / 10,
          from: event.from,
          to: event.state,
          at: event.at,
        });
      }
      state = event.state;
    }
    let error = this.error;
    if (error === null && this.connectedAt === null)
      error = `GET ${this.url.href}: no event received (the caller sends its state on connect)`;
    else if (error === null && this.connectedAt !== null && this.connectedAt > measuredStart)
      error = `GET ${this.url.href}: first event ${Math.round(this.connectedAt - measuredStart)} ms after the measured start: transitions before it are not recorded`;
    return {
      url: this.url.href,
      recorded: error === null,
      error,
      initialState,
      finalState: state,
      transitions,
    };
  }

  private read(response: IncomingMessage): void {
    const type = String(response.headers['content-type'] ?? '');
    if (response.statusCode !== 200 || !type.startsWith('text/event-stream')) {
      this.fail(
        `HTTP ${response.statusCode} ${type || '(no content type)'}: not the caller's events stream`,
      );
      response.resume();
      return;
    }
    response.setEncoding('utf8');
    let buffer = '';
    response.on('data', (chunk: string) => {
      buffer += chunk;
      // Events end with a blank line; keep the unfinished rest for the next chunk.
      let end: number;
      while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
        this.event(block);
      }
      if (buffer.length > MAX_BUFFER_CHARS) {
        this.fail(`an event longer than ${MAX_BUFFER_CHARS} characters: not the caller's stream`);
        response.destroy();
      }
    });
    const closed = (): void => {
      if (!this.stopped) this.fail('the stream closed before the end of the run');
    };
    response.on('end', closed);
    response.on('error', (error) => {
      if (!this.stopped) this.fail(`the stream failed: ${error.message}`);
    });
  }

  private event(block: string): void {
    let name = 'message';
    let data = '';
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith(':')) continue; // a comment: the heartbeat
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') name = value;
      else if (field === 'data') data = data === '' ? value : `${data}\n${value}`;
    }
    if (name !== 'breaker' || data === '') return;
    let parsed: { state?: unknown; from?: unknown; at?: unknown };
    try {
      parsed = JSON.parse(data) as typeof parsed;
    } catch {
      return;
    }
    const { state, from, at } = parsed;
    if (typeof state !== 'string' || !STATES.has(state)) return;
    this.events.push({
      time: performance.now(),
      state: state as BreakerState,
      from: typeof from === 'string' && STATES.has(from) ? (from as BreakerState) : null,
      at: typeof at === 'string' ? at.slice(0, 40) : '',
    });
    if (this.connectedAt === null) {
      this.connectedAt = performance.now();
      this.resolveFirstEvent();
    }
  }

  private fail(message: string): void {
    if (this.stopped) return;
    this.error ??= `GET ${this.url.href}: ${message}`;
    this.resolveFirstEvent();
  }
}
