import type { Context } from '@opentelemetry/api';
import type { buildConnector } from 'undici';

/** How one call ended. See the package README for the exact rules. */
export type Outcome =
  'ok' | 'upstream_error' | 'timeout' | 'circuit_open' | 'overloaded' | 'unreachable';

/** State of a client's circuit breaker. */
export type BreakerState = 'closed' | 'open' | 'half_open';

/** Options of {@link createServiceClient}. Every option is documented in the package README. */
export interface ServiceClientOptions {
  /** Base URL of the upstream, e.g. `http://sample-producer.istio-apps.svc.clusterset.local:8080`. */
  origin: string | URL;
  /** Label used in metrics and events. Default: the origin's host name. */
  upstreamName?: string;
  /** curl `--connect-to` entries `HOST1:PORT1:HOST2:PORT2` (string: comma-separated). Default: none. */
  connectTo?: string | readonly string[];
  /**
   * Opens the TCP (or TLS) connections, as undici's `connect` function option; `connectTo` and
   * `connectTimeoutMs` still apply around it. Default: undici's `buildConnector` (system resolver).
   */
  connect?: buildConnector.connector;
  /** Per-call deadline in ms (whole call: connect, headers and body, including a retry). Default: `3000`. */
  timeoutMs?: number;
  /** TCP (and TLS) connect timeout in ms. Default: `1000`. */
  connectTimeoutMs?: number;
  /** How long an idle keep-alive socket is kept, in ms. Default: `4000`. */
  keepAliveTimeoutMs?: number;
  /** Maximum sockets to the origin. Default: `128`. */
  connections?: number;
  /** Calls in flight at once; beyond it a call ends at once as `overloaded`. At most `connections`. Default: `connections`. */
  maxInFlight?: number;
  /**
   * Requests a socket carries before it is closed (the last one is sent with `connection: close`);
   * the next call opens a new connection. `0`: no limit. Default: `0`.
   */
  maxRequestsPerConnection?: number;
  /** Consecutive failures (5xx, timeout, unreachable) that open the breaker at low volume. Default: `3`. */
  failureThreshold?: number;
  /** Share of failed calls in the window that opens the breaker at high volume. Default: `0.5`. */
  failureRatio?: number;
  /** Calls in the window from which the ratio rule, not the consecutive rule, applies. Default: `20`. */
  minimumVolume?: number;
  /** Length in ms of the sliding window the breaker counts calls in. Default: `1000`. */
  failureWindowMs?: number;
  /** Time in ms the breaker stays open before one trial call is let through. Default: `15000`. */
  resetMs?: number;
  /** Retry budget for the retries (at most two) of requests that never reached the server, or `false` for no retries. */
  retryBudget?: false | RetryBudgetOptions;
}

/** Limits retries to a share of recent calls. */
export interface RetryBudgetOptions {
  /** Retries allowed per call in the window. Default: `0.2`. */
  ratio?: number;
  /** Retries allowed per second of window on top of the ratio, so a quiet client can still retry. Default: `5`. */
  minRetriesPerSecond?: number;
  /** Length of the sliding window in ms. Default: `10000`. */
  windowMs?: number;
}

/** One call of {@link ServiceClient.call}. */
export interface CallOptions {
  /** HTTP method. Default: `'GET'`, or `'POST'` when `json` is set. */
  method?: string;
  /** Path and query, starting with `/`, e.g. `/producer/messages`. */
  path: string;
  /** Extra request headers (names are case-insensitive). */
  headers?: Record<string, string>;
  /** Serialised as the JSON request body (`content-type: application/json`). */
  json?: unknown;
  /** Sent as `x-request-id`. */
  requestId?: string;
  /** Overrides the client's `timeoutMs` for this call. */
  timeoutMs?: number;
  /**
   * The OpenTelemetry context the call belongs to: its client span's parent and where the trace
   * headers come from (see "Trace context" in the README). **Default:** the active context.
   */
  traceContext?: Context;
}

/** The classified result of one call. `call()` always resolves with one. */
export interface CallResult {
  outcome: Outcome;
  /** Status of the answer; `null` when there was none. */
  statusCode: number | null;
  /** Response headers; `null` when there was no answer. */
  headers: Record<string, string | string[] | undefined> | null;
  /** Parsed JSON when the answer is JSON, its text otherwise; `null` without an answer. */
  body: unknown;
  /** Wall time of the call in ms, including a retry. */
  latencyMs: number;
  /** Underlying code: `'ECONNREFUSED'`, `'ENOTFOUND'`, `'UND_ERR_SOCKET'`, `'TIMEOUT'`, `'EOPENBREAKER'`, `'EOVERLOADED'`, …; `null` when answered. */
  errorCode: string | null;
  /** For `circuit_open` and `overloaded`: ms after which a new call may go through (for `Retry-After`); else `null`. */
  retryAfterMs: number | null;
  /** `true` when the request was sent a second time. */
  retried: boolean;
  /** Breaker state after this call. */
  breakerState: BreakerState;
}

/** Emitted as `breakerTransition` on every state change. */
export interface BreakerTransition {
  upstream: string;
  from: BreakerState;
  to: BreakerState;
  /** `Date.now()` of the change. */
  at: number;
}

/** Emitted as `callComplete` after every call. */
export type CallCompleteEvent = CallResult & { upstream: string };

/** A client for one upstream origin. */
export interface ServiceClient {
  /** The upstream's label (`upstreamName`). */
  readonly upstream: string;
  /** The origin, normalised (`http://host:port`). */
  readonly origin: string;
  /** Sends one request. Never rejects for network or upstream failures. */
  call(options: CallOptions): Promise<CallResult>;
  /** Current breaker state. */
  breakerState(): BreakerState;
  /** Calls in flight now: admitted and not yet complete (what `maxInFlight` limits). */
  inFlight(): number;
  on(event: 'breakerTransition', listener: (transition: BreakerTransition) => void): this;
  on(event: 'callComplete', listener: (result: CallCompleteEvent) => void): this;
  off(event: 'breakerTransition' | 'callComplete', listener: (...args: never[]) => void): this;
  /** Waits for calls in flight, closes the sockets, shuts the breaker down. Idempotent. */
  close(): Promise<void>;
}

/** One curl `--connect-to` entry. An empty `host`/`toHost` or a `0` port means "any" (match) or "unchanged" (target). */
export interface ConnectToRule {
  host: string;
  port: number;
  toHost: string;
  toPort: number;
}
