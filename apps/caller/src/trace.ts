// The trace id shown in the envelope: the active span's when OpenTelemetry runs, else the one in
// the incoming W3C traceparent, else null.
import { context, isSpanContextValid, propagation, trace } from '@opentelemetry/api';

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;
const INVALID_TRACE_ID = '0'.repeat(32);

/** The active OpenTelemetry span's trace id, or null when no valid span is active. */
export function activeTraceId(): string | null {
  const spanContext = trace.getActiveSpan()?.spanContext();
  return spanContext && isSpanContextValid(spanContext) ? spanContext.traceId : null;
}

/** The trace id of an incoming W3C `traceparent` header, or null when absent or invalid. */
export function traceIdOfHeader(traceparent: string | string[] | undefined): string | null {
  const header = Array.isArray(traceparent) ? traceparent[0] : traceparent;
  const traceId = header ? TRACEPARENT.exec(header.trim().toLowerCase())?.[1] : undefined;
  return traceId && traceId !== INVALID_TRACE_ID ? traceId : null;
}

/**
 * W3C Trace Context's propagation guidance: at most 32 list-members and 512 characters. A longer
 * `tracestate` from outside the mesh is dropped whole (the trace itself still follows
 * `traceparent`). With telemetry running, OpenTelemetry's TraceState keeps the same bound (it
 * truncates a longer one to its first members within 512 characters; the integration test pins it).
 */
export const TRACESTATE_MAX_CHARS = 512;
export const TRACESTATE_MAX_MEMBERS = 32;

/** The incoming `tracestate` if it fits the bound, else undefined (not forwarded). */
export function boundedTracestate(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string' || header.length > TRACESTATE_MAX_CHARS) return undefined;
  const members = header.split(',').filter((member) => member.trim() !== '');
  return members.length === 0 || members.length > TRACESTATE_MAX_MEMBERS ? undefined : header;
}

/**
 * Runs `call` in the active context minus its baggage. The caller is where calls from outside the
 * mesh enter: a client's `baggage` (up to 8 KB of key/values of its choosing under W3C limits)
 * is not passed on to the producer. Without telemetry nothing propagates baggage anyway.
 */
export function withoutIncomingBaggage<T>(call: () => T): T {
  const active = context.active();
  if (propagation.getBaggage(active) === undefined) return call();
  return context.with(propagation.deleteBaggage(active), call);
}
