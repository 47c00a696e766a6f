// Retries: only what provably never reached a server, at most twice (MAX_RETRIES), each on a new
// connection, inside the call's deadline and within the retry budget (retry-budget.ts). Through a
// kube-proxy ClusterSetIP a new connection is a new random endpoint, so one dead replica's refused
// connections are carried by the live ones and the breaker never sees them.
//
// Never retried, because the upstream may have acted on the request: a timeout, any answer (4xx or
// 5xx), and a connection that broke after any byte of the request was written to it. That includes
// the idle-close race on a reused keep-alive socket; the client's idle timeout stays below every
// server's on the path so that race does not arise (README, keepAliveTimeoutMs).

/** Codes that prove no connection was made, so the server cannot have seen the request. */
const NOT_CONNECTED_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT', // TCP (or TLS) handshake unfinished: no request byte is sent before it
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Codes of a connection that broke; they prove nothing only when the socket had written nothing. */
const BROKEN_SOCKET_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

/** Set on every socket error by the client's connector: how many bytes the socket had written. */
export const kBytesWrittenBeforeError = Symbol('s2s.bytesWrittenBeforeError');

/**
 * True when the failed attempt provably never reached the server: no connection could be made, or the
 * connection broke before a single byte was written on it (so not one byte of this request left).
 */
export function provablyNotDelivered(
  err: unknown,
  code: string,
  responseStarted: boolean,
): boolean {
  if (responseStarted) return false;
  if (NOT_CONNECTED_CODES.has(code)) return true;
  if (!BROKEN_SOCKET_CODES.has(code)) return false;
  return bytesWrittenBefore(err) === 0;
}

/** Unknown counts as written: only a recorded 0 proves nothing left. */
function bytesWrittenBefore(err: unknown): number {
  if (typeof err !== 'object' || err === null) return Infinity;
  const marked = (err as { [kBytesWrittenBeforeError]?: unknown })[kBytesWrittenBeforeError];
  if (typeof marked === 'number') return marked;
  // undici's SocketError carries the socket's counters.
  const socket = (err as { socket?: { bytesWritten?: unknown } }).socket;
  return typeof socket?.bytesWritten === 'number' ? socket.bytesWritten : Infinity;
}

/** Whether a failed first attempt is retried: provably not delivered, time left, budget left. */
export function shouldRetry(
  attempt: { answered: boolean; notDelivered?: boolean },
  deadlineExpired: boolean,
  takeFromBudget: () => boolean,
): boolean {
  if (attempt.answered || attempt.notDelivered !== true || deadlineExpired) return false;
  return takeFromBudget();
}

/**
 * Retries of one call: at most two, each on a new connection. Only a call that provably never
 * reached a server is retried, so a retry costs the upstream nothing; with one of two endpoints
 * refusing, a call fails after one retry 1 time in 4, after two 1 time in 8. Measured with one of
 * two local producers killed at 100 calls/s (test/trip-rule.test.ts, bench/trip-rule.bench.mjs):
 * one retry left 4-7 of 500 calls failed, two retries 0-2.
 */
export const MAX_RETRIES = 2;
