// Turns what undici reports into the contract's outcomes (see README "Outcomes"). Classification goes by
// `err.code`, never by message text, so it survives undici wording changes.
import type { Outcome } from './types.js';

/** Error code used when the per-call deadline aborted the request. */
export const DEADLINE_CODE = 'TIMEOUT';

/** Codes meaning "no full answer in time" (undici's own timers are only a backstop to the deadline). */
const TIMEOUT_CODES = new Set([DEADLINE_CODE, 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Codes that prove the request never left: no connection was made, so the server cannot have seen it. */
const NOT_CONNECTED_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

/** Codes of a connection that broke; they prove nothing was received only on a reused idle socket. */
const BROKEN_SOCKET_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

/** The most specific `code` of an error (AggregateError from happy-eyeballs connects included). */
export function errorCodeOf(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const { code, errors, cause } = err as { code?: unknown; errors?: unknown; cause?: unknown };
    if (typeof code === 'string' && code !== '') return code;
    if (Array.isArray(errors) && errors.length > 0) return errorCodeOf(errors[0]);
    if (cause !== undefined) return errorCodeOf(cause);
  }
  return 'UNKNOWN';
}

/** Outcome of a call that got no (complete) answer. */
export function outcomeOfError(code: string): Outcome {
  return TIMEOUT_CODES.has(code) ? 'timeout' : 'unreachable';
}

/** Outcome of an answered call. */
export function outcomeOfStatus(statusCode: number): Outcome {
  return statusCode >= 200 && statusCode < 300 ? 'ok' : 'upstream_error';
}

/** What the breaker counts as a failure (CONTRACT: 5xx, timeout, unreachable; never 2xx-4xx). */
export function isBreakerFailure(outcome: Outcome, statusCode: number | null): boolean {
  if (outcome === 'timeout' || outcome === 'unreachable') return true;
  return outcome === 'upstream_error' && statusCode !== null && statusCode >= 500;
}

/** Bytes the socket had read before it failed, recorded by the connector (see `markSocketErrors`). */
export const kBytesReadBeforeError = Symbol('s2s.bytesReadBeforeError');

/**
 * True when the failed attempt provably never reached the server: no connection could be made, or a
 * reused keep-alive socket (one that had already carried a response) broke before any byte of this
 * request's response arrived. That second case is the idle-close race: the server closed the socket
 * just as the request was written.
 */
export function provablyNotDelivered(
  err: unknown,
  code: string,
  responseStarted: boolean,
): boolean {
  if (responseStarted) return false;
  if (NOT_CONNECTED_CODES.has(code)) return true;
  if (!BROKEN_SOCKET_CODES.has(code)) return false;
  return bytesReadBefore(err) > 0;
}

function bytesReadBefore(err: unknown): number {
  if (typeof err !== 'object' || err === null) return 0;
  const marked = (err as { [kBytesReadBeforeError]?: unknown })[kBytesReadBeforeError];
  if (typeof marked === 'number') return marked;
  // undici's SocketError carries the socket's counters.
  const socket = (err as { socket?: { bytesRead?: unknown } }).socket;
  return typeof socket?.bytesRead === 'number' ? socket.bytesRead : 0;
}
