// Trace context of an outgoing call: the one place trace headers are written (docs/observability.md,
// "Trace context"). The client makes its own CLIENT span with the OpenTelemetry API, as the API
// asks libraries to, and writes that span's context into the request:
// - no SDK running (no tracer provider): the API's no-op tracer hands back the parent's own span
//   context, so the parent's traceparent goes out unchanged (same trace id, same parent id) and
//   nothing is recorded;
// - an SDK running: a real client span when sampled (the producer's server span becomes its
//   child), a non-recording one with fresh ids when not.
// With a propagator registered (@s2s/telemetry registers OTEL_PROPAGATORS) it writes the headers;
// without one, W3C traceparent/tracestate are written here, so trace context passes through a
// process that runs no telemetry at all.
import {
  SpanKind,
  SpanStatusCode,
  context,
  isSpanContextValid,
  propagation,
  trace,
  type Context,
  type Span,
} from '@opentelemetry/api';
import type { CallResult } from './types.js';

const tracer = trace.getTracer('@s2s/service-client');

function portOf(origin: string): number {
  const url = new URL(origin);
  return url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
}

/** Starts the call's client span and writes its context into `headers` (replacing hand-set ones). */
export function startClientSpan(
  origin: string,
  method: string,
  path: string,
  parent: Context | undefined,
  headers: Record<string, string>,
): Span {
  delete headers['traceparent'];
  delete headers['tracestate'];
  const parentContext = parent ?? context.active();
  const span = tracer.startSpan(method, { kind: SpanKind.CLIENT }, parentContext);
  if (span.isRecording()) {
    // HTTP client span attributes (semantic conventions 1.x, stable HTTP).
    span.setAttributes({
      'http.request.method': method,
      'server.address': new URL(origin).hostname,
      'server.port': portOf(origin),
      'url.full': `${origin}${path}`,
    });
  }
  if (propagation.fields().length > 0) {
    propagation.inject(trace.setSpan(parentContext, span), headers);
  } else {
    const spanContext = span.spanContext();
    if (isSpanContextValid(spanContext)) {
      const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
      headers['traceparent'] = `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
      const traceState = spanContext.traceState?.serialize();
      if (traceState) headers['tracestate'] = traceState;
    }
  }
  return span;
}

/** Ends the client span with the call's result: status code, error.type, ERROR for ≥ 400 or no answer. */
export function endClientSpan(span: Span, result: CallResult): void {
  if (!span.isRecording()) return;
  if (result.statusCode !== null) span.setAttribute('http.response.status_code', result.statusCode);
  if (result.retried) span.setAttribute('http.request.resend_count', 1);
  const errorType =
    result.statusCode === null
      ? (result.errorCode ?? result.outcome)
      : result.statusCode >= 400
        ? String(result.statusCode)
        : null;
  if (errorType !== null) {
    span.setAttribute('error.type', errorType);
    span.setStatus({ code: SpanStatusCode.ERROR, message: result.outcome });
  }
  span.end();
}
