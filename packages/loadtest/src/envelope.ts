export type BreakerState = 'closed' | 'open' | 'half_open';

/** What the load test reads from one answer of `POST /caller/messages`. */
export interface EnvelopeReading {
  /** The envelope's `outcome`, or "invalid" when the body is not an envelope. */
  outcome: string;
  breakerState: BreakerState | null;
}

const BREAKER_STATES = new Set<string>(['closed', 'open', 'half_open']);
const INVALID: EnvelopeReading = { outcome: 'invalid', breakerState: null };

/**
 * Reads the caller's envelope `{ …, outcome, breaker: { state } }`. Anything else (a problem+json
 * error, a proxy's HTML page, an empty body) is "invalid" so it is counted, never dropped.
 */
export function readEnvelope(body: string | null): EnvelopeReading {
  if (body === null || body.length === 0 || body.charCodeAt(0) !== 0x7b /* { */) return INVALID;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return INVALID;
  }
  if (typeof parsed !== 'object' || parsed === null) return INVALID;
  const { outcome, breaker } = parsed as { outcome?: unknown; breaker?: unknown };
  if (typeof outcome !== 'string' || outcome.length === 0 || outcome.length > 64) return INVALID;
  const state =
    typeof breaker === 'object' && breaker !== null
      ? (breaker as { state?: unknown }).state
      : undefined;
  return {
    outcome,
    breakerState:
      typeof state === 'string' && BREAKER_STATES.has(state) ? (state as BreakerState) : null,
  };
}
