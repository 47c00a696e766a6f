/** Calls through the ingress gateway the way the UI does, with a hard client-side bound. */
import { performance } from 'node:perf_hooks';

export interface MessageBody {
  id?: string;
  payload: string;
  delay?: number;
  responseCode?: number;
}

/** The caller's envelope (docs/contract.md); only the fields the tests read are typed. */
export interface CallerEnvelope {
  id: string;
  received: string | null;
  statusCode: number | null;
  outcome: 'ok' | 'upstream_error' | 'timeout' | 'circuit_open' | 'overloaded' | 'unreachable';
  roundTripTimeMillis: number;
  callerMetadata: Record<string, unknown> | null;
  producerMetadata: Record<string, unknown> | null;
  breaker: { state: 'closed' | 'open' | 'half_open' };
}

export interface GatewayAnswer {
  status: number;
  envelope: CallerEnvelope;
  /** Wall time seen by the test, through gateway, caller, link and producer. */
  elapsedMs: number;
}

/** POST /caller/messages through the gateway; throws if no answer within `timeoutMs`. */
export async function callThroughGateway(
  gatewayUrl: string,
  body: MessageBody,
  timeoutMs = 15_000,
): Promise<GatewayAnswer> {
  const started = performance.now();
  const response = await fetch(`${gatewayUrl}/caller/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  const elapsedMs = performance.now() - started;
  let envelope: CallerEnvelope;
  try {
    envelope = JSON.parse(text) as CallerEnvelope;
  } catch {
    throw new Error(
      `gateway answered ${response.status} without a JSON envelope: ${text.slice(0, 300)}`,
    );
  }
  return { status: response.status, envelope, elapsedMs };
}

export async function getThroughGateway(gatewayUrl: string, pathname: string, timeoutMs = 5000) {
  const response = await fetch(`${gatewayUrl}${pathname}`, {
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: response.status, text: await response.text() };
}
