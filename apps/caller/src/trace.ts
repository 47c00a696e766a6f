// The trace context a request's producer call belongs to, read in one place: the active context
// when @s2s/telemetry runs (it extracted the incoming headers and, when exporting, started the
// server span), else the incoming W3C traceparent/tracestate themselves. The route hands it to
// @s2s/service-client, the only writer of trace headers into the call.
import {
  ROOT_CONTEXT,
  TraceFlags,
  context,
  isSpanContextValid,
  propagation,
  trace,
  type Context,
  type TraceState,
} from '@opentelemetry/api';

const INVALID_TRACE_ID = '0'.repeat(32);

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

/** A W3C tracestate kept as it came (only ever serialised again, never changed here). */
function verbatimTraceState(header: string): TraceState {
  const state: TraceState = {
    set: () => state,
    unset: () => state,
    get: () => undefined,
    serialize: () => header,
  };
  return state;
}

export interface RequestTraceContext {
  /** Parent of the producer call's client span; carries no baggage (see below). */
  context: Context;
  /** Trace id for the envelope and the logs, or null without any trace context. */
  traceId: string | null;
}

/**
 * The context the producer call continues. The caller is where calls from outside the mesh enter:
 * a client's `baggage` (up to 8 KB of key/values of its choosing under W3C limits) is not passed
 * on to the producer.
 */
export function requestTraceContext(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): RequestTraceContext {
  const active = context.active();
  const activeSpanContext = trace.getSpanContext(active);
  if (activeSpanContext !== undefined && isSpanContextValid(activeSpanContext)) {
    const withoutBaggage =
      propagation.getBaggage(active) === undefined ? active : propagation.deleteBaggage(active);
    return { context: withoutBaggage, traceId: activeSpanContext.traceId };
  }
  // No telemetry in this process: continue the incoming traceparent as it came.
  const traceparent = headers['traceparent'];
  const header = Array.isArray(traceparent) ? undefined : traceparent;
  const match = header === undefined ? null : PARTS.exec(header.trim().toLowerCase());
  if (match === null || match[1] === INVALID_TRACE_ID || match[2] === INVALID_SPAN_ID) {
    return { context: ROOT_CONTEXT, traceId: null };
  }
  const tracestate = boundedTracestate(headers['tracestate']);
  const remote = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: Number.parseInt(match[3]!, 16) & TraceFlags.SAMPLED,
    isRemote: true,
    ...(tracestate === undefined ? {} : { traceState: verbatimTraceState(tracestate) }),
  });
  return { context: remote, traceId: match[1]! };
}

const PARTS = /^[\da-f]{2}-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})$/;
const INVALID_SPAN_ID = '0'.repeat(16);
