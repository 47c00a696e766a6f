// The shared client: one undici Agent, one breaker and one retry budget per client, nothing global.
//
// Composition, outermost first (no undici interceptors are used, so there is no `compose` order to get
// wrong):  breaker (opossum) -> per-call deadline (unref timer) -> at most one retry -> Agent.dispatch with a
// ResponseCollector handler (response-collector.ts).
// The breaker sees one result per call, retry included; the deadline covers both attempts.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { context, propagation } from '@opentelemetry/api';
import { Agent, buildConnector } from 'undici';
import type { Dispatcher } from 'undici';
import { ConsecutiveFailureBreaker, CountedFailure } from './breaker.js';
import {
  DEADLINE_CODE,
  errorCodeOf,
  isBreakerFailure,
  kBytesReadBeforeError,
  outcomeOfError,
  outcomeOfStatus,
  provablyNotDelivered,
} from './classify.js';
import { connectToConnector, normaliseConnectTo } from './connect-to.js';
import { Deadline } from './deadline.js';
import { ResponseCollector } from './response-collector.js';
import { RetryBudget } from './retry-budget.js';
import type {
  BreakerState,
  BreakerTransition,
  CallCompleteEvent,
  CallOptions,
  CallResult,
  ConnectToRule,
  ServiceClient,
  ServiceClientOptions,
} from './types.js';

/** Defaults, in one place: test/readme-defaults.test.ts checks the README against them. */
export const DEFAULTS = {
  timeoutMs: 3000, // below the mesh's 5 s VirtualService timeout
  connectTimeoutMs: 1000,
  // Below Fastify's 72 s keepAliveTimeout, Node's 5 s default and Envoy's idle timeouts, so the client
  // always drops an idle socket before the server does (no write into a socket being closed).
  keepAliveTimeoutMs: 4000,
  connections: 128,
  failureThreshold: 3, // mirrors the DestinationRule's consecutive5xxErrors: 3
  resetMs: 15000, // mirrors the DestinationRule's baseEjectionTime: 15s
  retryBudget: { ratio: 0.1, minRetriesPerSecond: 5, windowMs: 10000 },
} as const;

/** undici's own headers/body timers stay as a backstop behind the per-call deadline. */
const BACKSTOP_MARGIN_MS = 1000;

interface ResolvedOptions {
  origin: URL;
  upstream: string;
  connectTo: ConnectToRule[];
  timeoutMs: number;
  connectTimeoutMs: number;
  keepAliveTimeoutMs: number;
  connections: number;
  failureThreshold: number;
  resetMs: number;
  retryBudget: false | { ratio: number; minRetriesPerSecond: number; windowMs: number };
}

interface PreparedCall {
  method: Dispatcher.HttpMethod;
  path: string;
  headers: Record<string, string>;
  body: string | null;
  timeoutMs: number;
  startedAt: number;
}

type Attempt =
  | {
      answered: true;
      statusCode: number;
      headers: Record<string, string | string[] | undefined>;
      body: unknown;
    }
  | { answered: false; code: string; notDelivered: boolean };

/** Creates a client for one upstream origin. Throws a TypeError naming a bad option. */
export function createServiceClient(options: ServiceClientOptions): ServiceClient {
  return new UndiciServiceClient(resolveOptions(options));
}

class UndiciServiceClient implements ServiceClient {
  readonly upstream: string;
  readonly origin: string;
  readonly #agent: Agent;
  readonly #breaker: ConsecutiveFailureBreaker<[PreparedCall], CallResult>;
  readonly #budget: RetryBudget | null;
  readonly #events = new EventEmitter();
  readonly #timeoutMs: number;
  #closing: Promise<void> | null = null;

  constructor(options: ResolvedOptions) {
    this.upstream = options.upstream;
    this.origin = options.origin.origin;
    this.#timeoutMs = options.timeoutMs;
    const backstopMs = options.timeoutMs + BACKSTOP_MARGIN_MS;
    const connect = buildConnector({
      timeout: options.connectTimeoutMs,
      // TCP keep-alive probes find half-dead peers (e.g. a node gone behind a NAT) on long-lived sockets.
      keepAlive: true,
      keepAliveInitialDelay: 30_000,
    });
    this.#agent = new Agent({
      connect: connectToConnector(options.connectTo, markSocketErrors(connect)),
      connections: options.connections,
      pipelining: 1,
      connectTimeout: options.connectTimeoutMs,
      headersTimeout: backstopMs,
      bodyTimeout: backstopMs,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      // A server's `Keep-Alive: timeout=N` hint may shorten the idle time, never lengthen it.
      keepAliveMaxTimeout: options.keepAliveTimeoutMs,
      keepAliveTimeoutThreshold: 1000,
    });
    this.#budget = options.retryBudget === false ? null : new RetryBudget(options.retryBudget);
    this.#breaker = new ConsecutiveFailureBreaker((call: PreparedCall) => this.#guardedCall(call), {
      failureThreshold: options.failureThreshold,
      resetMs: options.resetMs,
      onTransition: (from, to) => {
        const transition: BreakerTransition = { upstream: this.upstream, from, to, at: Date.now() };
        this.#emit('breakerTransition', transition);
      },
    });
  }

  async call(options: CallOptions): Promise<CallResult> {
    const prepared = this.#prepare(options);
    let result: CallResult;
    if (this.#closing !== null) {
      result = noAnswer(
        'unreachable',
        'ECLIENTCLOSED',
        prepared.startedAt,
        false,
        this.breakerState(),
      );
    } else {
      this.#budget?.recordCall(prepared.startedAt);
      try {
        result = await this.#breaker.fire(prepared);
      } catch (err) {
        result =
          err instanceof CountedFailure
            ? (err.value as CallResult)
            : noAnswer(
                // EOPENBREAKER (open, or half-open with its trial already running); anything else
                // would be a bug in this module and is reported, not thrown.
                errorCodeOf(err) === 'EOPENBREAKER' ? 'circuit_open' : 'unreachable',
                errorCodeOf(err),
                prepared.startedAt,
                false,
                this.breakerState(),
              );
      }
      result.breakerState = this.breakerState();
    }
    if (this.#events.listenerCount('callComplete') > 0) {
      const event: CallCompleteEvent = { ...result, upstream: this.upstream };
      this.#emit('callComplete', event);
    }
    return result;
  }

  breakerState(): BreakerState {
    return this.#breaker.state;
  }

  on(event: 'breakerTransition', listener: (transition: BreakerTransition) => void): this;
  on(event: 'callComplete', listener: (result: CallCompleteEvent) => void): this;
  on(event: 'breakerTransition' | 'callComplete', listener: (arg: never) => void): this {
    this.#events.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off(event: 'breakerTransition' | 'callComplete', listener: (...args: never[]) => void): this {
    this.#events.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#breaker.shutdown();
      // Waits for calls in flight (each bounded by its deadline), then closes every socket.
      await this.#agent.close();
      this.#events.removeAllListeners();
    })();
    return this.#closing;
  }

  /** The breaker's action: the call with its deadline and possible retry, as one classified result. */
  async #guardedCall(call: PreparedCall): Promise<CallResult> {
    const deadline = new Deadline(call.timeoutMs);
    const admission = this.#breaker.admitted(call.startedAt + call.timeoutMs);
    let retried = false;
    let attempt: Attempt;
    try {
      attempt = await this.#attempt(call, deadline);
      if (
        !attempt.answered &&
        attempt.notDelivered &&
        !deadline.expired &&
        this.#budget?.tryAcquire() === true
      ) {
        retried = true;
        attempt = await this.#attempt(call, deadline);
      }
    } finally {
      deadline.clear();
      this.#breaker.settled(admission);
    }
    const state = this.breakerState();
    const result: CallResult = attempt.answered
      ? {
          outcome: outcomeOfStatus(attempt.statusCode),
          statusCode: attempt.statusCode,
          headers: attempt.headers,
          body: attempt.body,
          latencyMs: performance.now() - call.startedAt,
          errorCode: null,
          retried,
          breakerState: state,
        }
      : noAnswer(outcomeOfError(attempt.code), attempt.code, call.startedAt, retried, state);
    if (isBreakerFailure(result.outcome, result.statusCode)) throw new CountedFailure(result);
    return result;
  }

  /** One request; the body is always read to its end or the request aborted. */
  async #attempt(call: PreparedCall, deadline: Deadline): Promise<Attempt> {
    const collector = new ResponseCollector();
    deadline.watch(collector);
    try {
      this.#agent.dispatch(
        {
          origin: this.origin,
          path: call.path,
          method: call.method,
          headers: call.headers,
          body: call.body,
          // undici's own timers stay behind this call's deadline (which may exceed the client's).
          headersTimeout: call.timeoutMs + BACKSTOP_MARGIN_MS,
          bodyTimeout: call.timeoutMs + BACKSTOP_MARGIN_MS,
        },
        collector,
      );
    } catch (err) {
      collector.onResponseError(null, err as Error);
    }
    try {
      const response = await collector.promise;
      return {
        answered: true,
        statusCode: response.statusCode,
        headers: response.headers,
        body: parseBody(response.text, response.headers['content-type']),
      };
    } catch (err) {
      const code = deadline.expired ? DEADLINE_CODE : errorCodeOf(err);
      return {
        answered: false,
        code,
        notDelivered: provablyNotDelivered(err, code, collector.responseStarted),
      };
    }
  }

  #prepare(options: CallOptions): PreparedCall {
    const startedAt = performance.now();
    if (typeof options.path !== 'string' || !options.path.startsWith('/')) {
      throw new TypeError(`call: path must start with "/", got ${JSON.stringify(options.path)}`);
    }
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new TypeError(`call: timeoutMs must be a positive number, got ${String(timeoutMs)}`);
    }
    const headers: Record<string, string> = {};
    if (options.headers !== undefined) {
      for (const name of Object.keys(options.headers)) {
        headers[name.toLowerCase()] = options.headers[name] as string;
      }
    }
    let body: string | null = null;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] ??= 'application/json';
    }
    if (options.requestId !== undefined) headers['x-request-id'] = options.requestId;
    // W3C traceparent/tracestate (and baggage) from the active context; a no-op unless an
    // OpenTelemetry SDK registered a propagator.
    propagation.inject(context.active(), headers);
    const method = (options.method ?? (body === null ? 'GET' : 'POST')).toUpperCase();
    return {
      method: method as Dispatcher.HttpMethod,
      path: options.path,
      headers,
      body,
      timeoutMs,
      startedAt,
    };
  }

  #emit(event: 'breakerTransition' | 'callComplete', payload: unknown): void {
    try {
      this.#events.emit(event, payload);
    } catch (err) {
      // A throwing listener must neither break the breaker's state machine nor fail the call.
      process.emitWarning(
        `service-client ${event} listener threw: ${String(err)}`,
        'ServiceClientWarning',
      );
    }
  }
}

function noAnswer(
  outcome: CallResult['outcome'],
  errorCode: string,
  startedAt: number,
  retried: boolean,
  breakerState: BreakerState,
): CallResult {
  return {
    outcome,
    statusCode: null,
    headers: null,
    body: null,
    latencyMs: performance.now() - startedAt,
    errorCode,
    retried,
    breakerState,
  };
}

function parseBody(text: string, contentType: string | string[] | undefined): unknown {
  const type = Array.isArray(contentType) ? contentType[0] : contentType;
  if (type !== undefined && /[/+]json\b/i.test(type) && text !== '') {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

/**
 * Records on every socket error how many bytes the socket had read before it failed, so a reset of a
 * reused keep-alive socket can be told from one on a fresh connection (ECONNRESET carries no counters).
 */
function markSocketErrors(connect: buildConnector.connector): buildConnector.connector {
  return ((options: buildConnector.Options, callback: buildConnector.Callback) => {
    const socket = (connect as (...a: Parameters<buildConnector.connector>) => unknown)(
      options,
      callback,
    );
    if (socket !== null && typeof socket === 'object' && 'on' in socket) {
      const net = socket as Socket;
      net.on('error', (err: Error & { [kBytesReadBeforeError]?: number }) => {
        err[kBytesReadBeforeError] ??= net.bytesRead;
      });
    }
    return socket;
  }) as buildConnector.connector;
}

function resolveOptions(options: ServiceClientOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('createServiceClient: options object is required');
  }
  let origin: URL;
  try {
    origin = new URL(options.origin);
  } catch {
    throw new TypeError(`createServiceClient: origin is not a URL: ${String(options.origin)}`);
  }
  if (origin.protocol !== 'http:' && origin.protocol !== 'https:') {
    throw new TypeError(
      `createServiceClient: origin must be http: or https:, got ${origin.protocol}`,
    );
  }
  const budget = options.retryBudget;
  return {
    origin,
    upstream: options.upstreamName ?? origin.hostname,
    connectTo: normaliseConnectTo(options.connectTo),
    timeoutMs: positive('timeoutMs', options.timeoutMs, DEFAULTS.timeoutMs),
    connectTimeoutMs: positive(
      'connectTimeoutMs',
      options.connectTimeoutMs,
      DEFAULTS.connectTimeoutMs,
    ),
    keepAliveTimeoutMs: positive(
      'keepAliveTimeoutMs',
      options.keepAliveTimeoutMs,
      DEFAULTS.keepAliveTimeoutMs,
    ),
    connections: positiveInteger('connections', options.connections, DEFAULTS.connections),
    failureThreshold: positiveInteger(
      'failureThreshold',
      options.failureThreshold,
      DEFAULTS.failureThreshold,
    ),
    resetMs: positive('resetMs', options.resetMs, DEFAULTS.resetMs),
    retryBudget:
      budget === false
        ? false
        : {
            ratio: nonNegative('retryBudget.ratio', budget?.ratio, DEFAULTS.retryBudget.ratio),
            minRetriesPerSecond: nonNegative(
              'retryBudget.minRetriesPerSecond',
              budget?.minRetriesPerSecond,
              DEFAULTS.retryBudget.minRetriesPerSecond,
            ),
            windowMs: positive(
              'retryBudget.windowMs',
              budget?.windowMs,
              DEFAULTS.retryBudget.windowMs,
            ),
          },
  };
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new TypeError(
      `createServiceClient: ${name} must be a positive number, got ${String(value)}`,
    );
  }
  return v;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new TypeError(`createServiceClient: ${name} must be a number >= 0, got ${String(value)}`);
  }
  return v;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const v = positive(name, value, fallback);
  if (!Number.isInteger(v)) {
    throw new TypeError(`createServiceClient: ${name} must be an integer, got ${String(value)}`);
  }
  return v;
}
