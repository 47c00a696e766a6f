// Turns what undici reports into the contract's outcomes (see README "Outcomes"). Classification goes by
// `err.code`, never by message text, so it survives undici wording changes. What the breaker counts is
// breaker.ts's business, what is retried retry.ts's.
import type { Outcome } from './types.js';

/** Error code used when the per-call deadline aborted the request. */
export const DEADLINE_CODE = 'TIMEOUT';

/** Codes meaning "no full answer in time" (undici's own timers are only a backstop to the deadline). */
const TIMEOUT_CODES = new Set([DEADLINE_CODE, 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

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
