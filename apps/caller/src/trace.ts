// The trace id shown in the envelope: the active span's when OpenTelemetry runs, else the one in
// the incoming W3C traceparent, else null.
import { isSpanContextValid, trace } from '@opentelemetry/api';

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
