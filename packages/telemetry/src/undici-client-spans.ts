// The undici instrumentation (client spans for calls made with undici, e.g. by
// @s2s/service-client), with two corrections this system needs:
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
import { subscribe } from 'node:diagnostics_channel';
import { SpanStatusCode, propagation, type Span } from '@opentelemetry/api';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';

/** The part of undici's Request (diagnostics_channel `undici:request:*`) this touches. */
export interface UndiciRequestHeaders {
  /** undici ≥ 6: a flat `[name, value, name, value, …]` array; older versions: a raw header block. */
  headers: unknown;
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

export function createUndiciInstrumentation(): UndiciInstrumentation {
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
    // Runs right before the instrumentation injects the client span's context.
    requestHook: (span, request) => {
      dropTraceContextHeaders(request);
      spansByRequest.set(request, span);
    },
  });
}
