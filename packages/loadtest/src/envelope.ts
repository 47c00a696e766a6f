export type BreakerState = 'closed' | 'open' | 'half_open';

/** What the load test reads from one answer of `POST /caller/messages`. */
export interface EnvelopeReading {
  /** The envelope's `outcome`, or "invalid" when the body is not an envelope. */
  outcome: string;
  breakerState: BreakerState | null;
  /** `producerMetadata.clusterName` / `.podName`: who answered; null when no producer did. */
  producerCluster: string | null;
  producerPod: string | null;
}

const BREAKER_STATES = new Set<string>(['closed', 'open', 'half_open']);
const INVALID: EnvelopeReading = {
  outcome: 'invalid',
  breakerState: null,
  producerCluster: null,
  producerPod: null,
};
/** Longer names are not a Kubernetes cluster or pod name: cut, so a bad body cannot bloat the report. */
const MAX_NAME_LENGTH = 253;

/**
 * Reads the caller's envelope `{ …, outcome, breaker: { state }, producerMetadata: { clusterName,
 * podName } }` from the one JSON.parse the body gets anyway (no second pass over it). Anything else (a problem+json
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
  const { outcome, breaker, producerMetadata } = parsed as {
    outcome?: unknown;
    breaker?: unknown;
    producerMetadata?: unknown;
  };
  if (typeof outcome !== 'string' || outcome.length === 0 || outcome.length > 64) return INVALID;
  const state =
    typeof breaker === 'object' && breaker !== null
      ? (breaker as { state?: unknown }).state
      : undefined;
  let producerCluster: string | null = null;
  let producerPod: string | null = null;
  if (typeof producerMetadata === 'object' && producerMetadata !== null) {
    const { clusterName, podName } = producerMetadata as {
      clusterName?: unknown;
      podName?: unknown;
    };
    producerCluster = name(clusterName);
    producerPod = name(podName);
  }
  return {
    outcome,
    breakerState:
      typeof state === 'string' && BREAKER_STATES.has(state) ? (state as BreakerState) : null,
    producerCluster,
    producerPod,
  };
}

function name(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0) return null;
  return value.length > MAX_NAME_LENGTH ? value.slice(0, MAX_NAME_LENGTH) : value;
}
