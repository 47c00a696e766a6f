// The undici instrumentation (client spans for calls made with undici, e.g. by
// @s2s/service-client), with three changes this system needs:
//
// 1. One traceparent. A service client may inject the active context's traceparent itself (as
//    @s2s/service-client does, so that context flows even with only the API loaded). The
//    instrumentation then *adds* its own — the client span's — next to it, and the receiver sees
//    `traceparent: <server span>, <client span>`, which no propagator parses: the producer would
//    start a new trace. The hand-set trace-context headers are removed right before the
//    instrumentation injects, so exactly one, the client span's, is sent.
// 2. Aborted calls are errors. The instrumentation ends a span whose request was aborted
//    (`AbortError`) without error status, taking the abort for a deliberate cancel. Here an abort
//    is the per-call deadline firing (the CONTRACT's `timeout` outcome), which must show as a
//    failed call in the trace.
// 3. No client span inside an unsampled trace. The instrumentation builds a client span's
//    attributes (a URL parse, a header map, ~10 attributes), a WeakMap record and a duration-metric
//    record for every call, before and regardless of the sampling decision. With a parent-based
//    sampler, a call made inside an unsampled trace can only get a non-recording span, so such
//    calls skip the instrumentation and only get the active context's trace headers (what the
//    instrumentation would have injected, minus a client span id nobody records): the producer
//    continues the same trace id with the same "not sampled" decision.
import { subscribe } from 'node:diagnostics_channel';
import {
  SpanStatusCode,
  TraceFlags,
  context,
  propagation,
  trace,
  type Span,
} from '@opentelemetry/api';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';

/** The part of undici's Request (diagnostics_channel `undici:request:*`) this touches. */
export interface UndiciRequestHeaders {
  /** undici ≥ 6: a flat `[name, value, name, value, …]` array; older versions: a raw header block. */
  headers: unknown;
  /** undici ≥ 6. */
  addHeader?: (name: string, value: string) => unknown;
}

/**
 * The propagator's header names, lower-cased. Read once, on the first request: the SDK sets the
 * global propagator at start-up, before any request, and never changes it afterwards, while
 * asking it on every request cost two arrays and a Set per outgoing call.
 */
let traceContextFields: ReadonlySet<string> | undefined;

function propagationFields(): ReadonlySet<string> {
  if (traceContextFields !== undefined) return traceContextFields;
  const fields = new Set(propagation.fields().map((field) => field.toLowerCase()));
  // An empty set means no propagator is registered yet: ask again next time.
  if (fields.size > 0) traceContextFields = fields;
  return fields;
}

export function dropTraceContextHeaders(request: UndiciRequestHeaders): void {
  const fields = propagationFields();
  if (fields.size === 0) return;
  const { headers } = request;
  if (Array.isArray(headers)) {
    for (let index = headers.length - 2; index >= 0; index -= 2) {
      const name: unknown = headers[index];
      if (typeof name === 'string' && fields.has(name.toLowerCase())) headers.splice(index, 2);
    }
  } else if (typeof headers === 'string') {
    request.headers = headers
      .split('\r\n')
      .filter(
        (line) =>
          !fields.has(
            line
              .slice(0, Math.max(0, line.indexOf(':')))
              .trim()
              .toLowerCase(),
          ),
      )
      .join('\r\n');
  }
}

interface AbortLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
}

/** What the instrumentation treats as a cancel rather than a failure. */
export function isAbort(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const { name, code } = error as AbortLike;
  return (
    name === 'AbortError' || (error instanceof DOMException && code === DOMException.ABORT_ERR)
  );
}

/**
 * True inside a trace whose sampling decision is "not sampled" (an active span without the
 * sampled flag). False without an active span: a call outside any request starts its own trace,
 * and the sampler decides.
 */
export function insideUnsampledTrace(): boolean {
  const active = trace.getActiveSpan();
  if (active === undefined) return false;
  return (active.spanContext().traceFlags & TraceFlags.SAMPLED) === 0;
}

/**
 * Writes the active context's trace headers (traceparent, tracestate, baggage, or whatever the
 * propagator uses) into the request, replacing any set by hand, as the instrumentation does for a
 * call it traces.
 */
export function propagateActiveContext(request: UndiciRequestHeaders): void {
  dropTraceContextHeaders(request);
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  for (const name of Object.keys(carrier)) {
    const value = carrier[name] as string;
    if (typeof request.addHeader === 'function') request.addHeader(name, value);
    else if (Array.isArray(request.headers)) request.headers.push(name, value);
    else if (typeof request.headers === 'string') request.headers += `${name}: ${value}\r\n`;
  }
}

/** ignoreRequestHook: calls inside an unsampled trace only propagate the context. */
export function propagateOnlyWhenUnsampled(request: UndiciRequestHeaders): boolean {
  if (!insideUnsampledTrace()) return false;
  propagateActiveContext(request);
  return true;
}

export interface UndiciSpanOptions {
  /** The sampler follows the parent (settings.parentBasedSampling): skip unsampled traces. */
  parentBasedSampling: boolean;
}

export function createUndiciInstrumentation(options: UndiciSpanOptions): UndiciInstrumentation {
  const spansByRequest = new WeakMap<object, Span>();

  // Subscribed before the instrumentation (which subscribes when constructed, below), so this
  // runs first: the instrumentation ends the span in its own handler for the same message.
  subscribe('undici:request:error', (message) => {
    const { request, error } = message as { request: object; error: unknown };
    const span = spansByRequest.get(request);
    spansByRequest.delete(request);
    if (span === undefined || !isAbort(error)) return;
    const { code, name, message: text } = error as AbortLike;
    span.setAttribute('error.type', String(code ?? name));
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: typeof text === 'string' ? text : 'request aborted',
    });
  });

  return new UndiciInstrumentation({
    ...(options.parentBasedSampling ? { ignoreRequestHook: propagateOnlyWhenUnsampled } : {}),
    // Runs right before the instrumentation injects the client span's context.
    requestHook: (span, request) => {
      dropTraceContextHeaders(request);
      spansByRequest.set(request, span);
    },
  });
}
