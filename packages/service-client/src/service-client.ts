// The shared client: one undici Agent, one in-flight limit, one breaker and one retry budget per
// client, nothing global. Three mechanisms, kept apart as Envoy keeps them, one file each:
//   in-flight-limit.ts  admission: beyond the limit a call ends at once as `overloaded`
//   breaker.ts          the circuit breaker: the trip rule and the half-open trial
//   retry.ts            the one safe retry, on a new connection, within retry-budget.ts
//
// Composition, outermost first (no undici interceptors are used, so there is no `compose` order to get
// wrong):  in-flight limit -> breaker admission -> per-call deadline (unref timer) -> first attempt on
// the pool -> [one retry on a new connection] -> breaker counts the one result.
// The breaker sees one result per call, retry included; the deadline covers both attempts.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { Agent, Client, buildConnector } from 'undici';
import type { Dispatcher } from 'undici';
import type { Span } from '@opentelemetry/api';
import { CircuitBreaker, isBreakerFailure } from './breaker.js';
import { endClientSpan, startClientSpan } from './trace-context.js';
import { DEADLINE_CODE, errorCodeOf, outcomeOfError, outcomeOfStatus } from './classify.js';
import { connectToConnector, normaliseConnectTo } from './connect-to.js';
import { Deadline } from './deadline.js';
import { InFlightLimit, OVERLOADED_RETRY_AFTER_MS } from './in-flight-limit.js';
import { ResponseCollector } from './response-collector.js';
import {
  MAX_RETRIES,
  kBytesWrittenBeforeError,
  provablyNotDelivered,
  shouldRetry,
} from './retry.js';
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

/** Defaults, in one place so the README table can be checked against them. */
export const DEFAULTS = {
  timeoutMs: 3000, // below the mesh's 5 s VirtualService timeout
  connectTimeoutMs: 1000,
  // Below Fastify's 72 s keepAliveTimeout, Node's 5 s default and Envoy's idle timeouts, so the client
  // always drops an idle socket before the server does (no write into a socket being closed).
  keepAliveTimeoutMs: 4000,
  connections: 128,
  // No limit: a socket lives until it idles out. Behind an L4 balancer (kube-proxy, a ClusterSetIP)
  // a limit spreads a steady caller's calls over the endpoints (README, maxRequestsPerConnection).
  maxRequestsPerConnection: 0,
  failureThreshold: 3, // mirrors the DestinationRule's consecutive5xxErrors: 3
  failureRatio: 0.5, // README "Circuit breaker": the service fails more calls than it serves
  minimumVolume: 20, // calls per window: 20 calls/s with the 1 s window
  failureWindowMs: 1000, // "every endpoint failing opens it within about a second" (CONTRACT)
  resetMs: 15000, // mirrors the DestinationRule's baseEjectionTime: 15s
  // After Envoy's and Linkerd's retry budgets (20 %), plus a floor for a quiet client.
  retryBudget: { ratio: 0.2, minRetriesPerSecond: 5, windowMs: 10000 },
} as const;

/** Smallest `retryAfterMs` of a `circuit_open` call (a half-open trial may be running). */
const MIN_CIRCUIT_OPEN_RETRY_AFTER_MS = 1000;

/** undici's own headers/body timers stay as a backstop behind the per-call deadline. */
const BACKSTOP_MARGIN_MS = 1000;

interface ResolvedOptions {
  origin: URL;
  upstream: string;
  connectTo: ConnectToRule[];
  connect: buildConnector.connector | undefined;
  timeoutMs: number;
  connectTimeoutMs: number;
  keepAliveTimeoutMs: number;
  connections: number;
  maxInFlight: number;
  maxRequestsPerConnection: number;
  failureThreshold: number;
  failureRatio: number;
  minimumVolume: number;
  failureWindowMs: number;
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
  /** The call's client span (trace-context.ts): a non-recording one unless an SDK samples it. */
  span: Span;
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
  readonly #connect: buildConnector.connector;
  readonly #retryClients = new Set<Client>();
  readonly #limit: InFlightLimit;
  readonly #breaker: CircuitBreaker;
  readonly #budget: RetryBudget | null;
  readonly #events = new EventEmitter();
  readonly #options: ResolvedOptions;
  #closing: Promise<void> | null = null;

  constructor(options: ResolvedOptions) {
    this.#options = options;
    this.upstream = options.upstream;
    this.origin = options.origin.origin;
    const backstopMs = options.timeoutMs + BACKSTOP_MARGIN_MS;
    const connect =
      options.connect ??
      buildConnector({
        timeout: options.connectTimeoutMs,
        // TCP keep-alive probes find half-dead peers (e.g. a node gone behind a NAT) on long-lived sockets.
        keepAlive: true,
        keepAliveInitialDelay: 30_000,
      });
    this.#connect = connectToConnector(options.connectTo, markSocketErrors(connect));
    this.#agent = new Agent({
      connect: this.#connect,
      connections: options.connections,
      pipelining: 1,
      connectTimeout: options.connectTimeoutMs,
      headersTimeout: backstopMs,
      bodyTimeout: backstopMs,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      // A server's `Keep-Alive: timeout=N` hint may shorten the idle time, never lengthen it.
      keepAliveMaxTimeout: options.keepAliveTimeoutMs,
      keepAliveTimeoutThreshold: 1000,
      // undici sends the last request with `connection: close`, so the server ends the socket
      // after answering it and no call is ever written into a closing socket. 0: no limit.
      maxRequestsPerClient: options.maxRequestsPerConnection,
    });
    this.#limit = new InFlightLimit(options.maxInFlight);
    this.#budget = options.retryBudget === false ? null : new RetryBudget(options.retryBudget);
    this.#breaker = new CircuitBreaker({
      failureThreshold: options.failureThreshold,
      failureRatio: options.failureRatio,
      minimumVolume: options.minimumVolume,
      windowMs: options.failureWindowMs,
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
      result = noAnswer('unreachable', 'ECLIENTCLOSED', prepared.startedAt, false);
    } else if (!this.#limit.tryAcquire()) {
      // Admission first: an overloaded call never reaches the breaker, so it is never counted.
      result = noAnswer('overloaded', 'EOVERLOADED', prepared.startedAt, false);
      result.retryAfterMs = OVERLOADED_RETRY_AFTER_MS;
    } else {
      try {
        const admission = this.#breaker.tryAdmit();
        if (admission === null) {
          result = noAnswer('circuit_open', 'EOPENBREAKER', prepared.startedAt, false);
          result.retryAfterMs = Math.max(
            MIN_CIRCUIT_OPEN_RETRY_AFTER_MS,
            Math.ceil(this.#breaker.retryAfterMs()),
          );
        } else {
          this.#budget?.recordCall(prepared.startedAt);
          try {
            result = await this.#callWithSafeRetry(prepared);
          } catch (err) {
            // Not expected (every network error is classified below); but an admitted call must
            // always be recorded, or a half-open trial would never end.
            result = noAnswer('unreachable', errorCodeOf(err), prepared.startedAt, false);
          }
          this.#breaker.record(admission, isBreakerFailure(result.outcome, result.statusCode));
        }
      } finally {
        this.#limit.release();
      }
    }
    result.breakerState = this.breakerState();
    endClientSpan(prepared.span, result);
    if (this.#events.listenerCount('callComplete') > 0) {
      const event: CallCompleteEvent = { ...result, upstream: this.upstream };
      this.#emit('callComplete', event);
    }
    return result;
  }

  breakerState(): BreakerState {
    return this.#breaker.state;
  }

  inFlight(): number {
    return this.#limit.inFlight;
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
      await Promise.all([
        this.#agent.close(),
        ...[...this.#retryClients].map((client) => client.close()),
      ]);
      this.#events.removeAllListeners();
    })();
    return this.#closing;
  }

  /** The call with its deadline and possible retry (retry.ts), as one classified result. */
  async #callWithSafeRetry(call: PreparedCall): Promise<CallResult> {
    const deadline = new Deadline(call.timeoutMs);
    let retried = false;
    let attempt: Attempt;
    try {
      attempt = await this.#attempt(this.#agent, call, deadline);
      for (
        let retries = 0;
        retries < MAX_RETRIES &&
        shouldRetry(attempt, deadline.expired, () => this.#budget?.tryAcquire() === true);
        retries++
      ) {
        retried = true;
        attempt = await this.#attemptOnNewConnection(call, deadline);
      }
    } finally {
      deadline.clear();
    }
    if (attempt.answered) {
      return {
        outcome: outcomeOfStatus(attempt.statusCode),
        statusCode: attempt.statusCode,
        headers: attempt.headers,
        body: attempt.body,
        latencyMs: performance.now() - call.startedAt,
        errorCode: null,
        retried,
        retryAfterMs: null,
        breakerState: this.breakerState(),
      };
    }
    return noAnswer(outcomeOfError(attempt.code), attempt.code, call.startedAt, retried);
  }

  /**
   * The retry goes out on a connection of its own, opened for it and closed after it: the pool might
   * hand it a kept-alive socket to the same endpoint, whereas through a ClusterSetIP a new connection
   * is a new draw of endpoint. It needs no pool socket, so the in-flight limit still holds.
   */
  async #attemptOnNewConnection(call: PreparedCall, deadline: Deadline): Promise<Attempt> {
    const { timeoutMs, connectTimeoutMs } = this.#options;
    const client = new Client(this.origin, {
      connect: this.#connect,
      pipelining: 1,
      connectTimeout: connectTimeoutMs,
      headersTimeout: timeoutMs + BACKSTOP_MARGIN_MS,
      bodyTimeout: timeoutMs + BACKSTOP_MARGIN_MS,
    });
    this.#retryClients.add(client);
    try {
      return await this.#attempt(client, call, deadline);
    } finally {
      this.#retryClients.delete(client);
      // The response was read to its end or the request aborted: nothing is left to wait for.
      void client.destroy().catch(() => undefined);
    }
  }

  /** One request; the body is always read to its end or the request aborted. */
  async #attempt(dispatcher: Dispatcher, call: PreparedCall, deadline: Deadline): Promise<Attempt> {
    const collector = new ResponseCollector();
    deadline.watch(collector);
    try {
      dispatcher.dispatch(
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
    const timeoutMs = options.timeoutMs ?? this.#options.timeoutMs;
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
    const method = (options.method ?? (body === null ? 'GET' : 'POST')).toUpperCase();
    // The one place trace headers are written into a call (trace-context.ts).
    const span = startClientSpan(this.origin, method, options.path, options.traceContext, headers);
    return {
      method,
      path: options.path,
      headers,
      body,
      timeoutMs,
      startedAt,
      span,
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

/** A result without an answer; `call()` sets `breakerState` (and `retryAfterMs` where it applies). */
function noAnswer(
  outcome: CallResult['outcome'],
  errorCode: string,
  startedAt: number,
  retried: boolean,
): CallResult {
  return {
    outcome,
    statusCode: null,
    headers: null,
    body: null,
    latencyMs: performance.now() - startedAt,
    errorCode,
    retried,
    retryAfterMs: null,
    breakerState: 'closed',
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
 * Records on every socket error how many bytes the socket had written before it failed, so a reset
 * before any byte of the request left can be told from one after (ECONNRESET carries no counters).
 */
function markSocketErrors(connect: buildConnector.connector): buildConnector.connector {
  return (options: buildConnector.Options, callback: buildConnector.Callback) => {
    const socket: unknown = connect(options, callback);
    if (socket !== null && typeof socket === 'object' && 'on' in socket) {
      const net = socket as Socket;
      net.on('error', (err: Error & { [kBytesWrittenBeforeError]?: number }) => {
        err[kBytesWrittenBeforeError] ??= net.bytesWritten;
      });
    }
    return socket;
  };
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
  if (options.connect !== undefined && typeof options.connect !== 'function') {
    throw new TypeError('createServiceClient: connect must be a function');
  }
  const budget = options.retryBudget;
  const connections = positiveInteger('connections', options.connections, DEFAULTS.connections);
  const maxInFlight = positiveInteger('maxInFlight', options.maxInFlight, connections);
  if (maxInFlight > connections) {
    // Above the pool size an admitted call would wait for a socket, and the wait would be charged
    // to the upstream as a timeout.
    throw new TypeError(
      `createServiceClient: maxInFlight (${maxInFlight}) must not exceed connections (${connections})`,
    );
  }
  const failureRatio = positive('failureRatio', options.failureRatio, DEFAULTS.failureRatio);
  if (failureRatio > 1) {
    throw new TypeError(`createServiceClient: failureRatio must be at most 1, got ${failureRatio}`);
  }
  return {
    origin,
    upstream: options.upstreamName ?? origin.hostname,
    connectTo: normaliseConnectTo(options.connectTo),
    connect: options.connect,
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
    connections,
    maxInFlight,
    maxRequestsPerConnection: nonNegativeInteger(
      'maxRequestsPerConnection',
      options.maxRequestsPerConnection,
      DEFAULTS.maxRequestsPerConnection,
    ),
    failureThreshold: positiveInteger(
      'failureThreshold',
      options.failureThreshold,
      DEFAULTS.failureThreshold,
    ),
    failureRatio,
    minimumVolume: positiveInteger('minimumVolume', options.minimumVolume, DEFAULTS.minimumVolume),
    failureWindowMs: positive('failureWindowMs', options.failureWindowMs, DEFAULTS.failureWindowMs),
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

function nonNegativeInteger(name: string, value: number | undefined, fallback: number): number {
  return integer(name, nonNegative(name, value, fallback));
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  return integer(name, positive(name, value, fallback));
}

function integer(name: string, value: number): number {
  if (!Number.isInteger(value)) {
    throw new TypeError(`createServiceClient: ${name} must be an integer, got ${String(value)}`);
  }
  return value;
}
