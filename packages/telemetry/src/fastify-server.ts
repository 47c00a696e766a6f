// Incoming requests of every Fastify instance in the process, through Fastify's
// `fastify.initialization` diagnostics channel (no loader hook, no patching): each instance gets
// three hooks when it is created, before any route, so they apply to every route.
//
// - With a tracer (an exporter is configured): one SERVER span per request, named and attributed
//   as the HTTP semantic conventions say (`{method} {http.route}`, http.request.method,
//   url.path, url.scheme, http.route, server.address, client.address, network.protocol.version,
//   user_agent.original, http.response.status_code; status ERROR for a 5xx only), its parent
//   taken from the incoming trace headers. The sampler decides; an unsampled request gets a
//   non-recording span (ids only, no attributes).
// - Without (no exporter): no span at all. A request that brought trace headers runs in the
//   extracted remote context, so whoever calls onwards (@s2s/service-client) continues that
//   trace; a request without any runs as if telemetry were not there.
// Either way, when the request has a trace context its log lines carry trace_id, span_id and
// trace_flags (the fields @opentelemetry/instrumentation-pino wrote), bound into the child logger
// Fastify makes per request anyway (its childLoggerFactory, wrapped).
import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { HTTP } from './semconv.js';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify';
import { isUntracedPath } from './untraced-paths.js';

/** The instrumentation scope of the server spans. */
export const SCOPE_NAME = '@s2s/telemetry';

/** Kept on the raw request (IncomingMessage) from the child-logger factory to the hooks. */
const kTrace = Symbol('s2s.telemetry.trace');

interface RequestTrace {
  context: Context;
  /** The SERVER span; null without a tracer. */
  span: Span | null;
}

type TracedMessage = IncomingMessage & { [kTrace]?: RequestTrace };

export interface ServerInstrumentation {
  /** null: no exporter, so no spans (context is still extracted and continued). */
  tracer: Tracer | null;
}

function serverSpanAttributes(request: FastifyRequest, route: string | undefined): Attributes {
  const queryAt = request.url.indexOf('?');
  const attributes: Attributes = {
    [HTTP.requestMethod]: request.method,
    [HTTP.urlPath]: queryAt === -1 ? request.url : request.url.slice(0, queryAt),
    [HTTP.urlScheme]: request.protocol,
    [HTTP.serverAddress]: request.hostname,
    [HTTP.clientAddress]: request.ip,
    [HTTP.protocolVersion]: request.raw.httpVersion,
  };
  if (route !== undefined) attributes[HTTP.route] = route;
  const userAgent = request.headers['user-agent'];
  if (userAgent !== undefined) attributes[HTTP.userAgent] = userAgent;
  return attributes;
}

export function addServerHooks(fastify: FastifyInstance, { tracer }: ServerInstrumentation): void {
  /** Header names any registered propagator reads, lower-cased (read on the first request). */
  let fields: readonly string[] | undefined;

  /** The request's trace context (and span), or undefined when it has none and makes none. */
  function traceOf(raw: IncomingMessage): RequestTrace | undefined {
    if (isUntracedPath(raw.url)) return undefined;
    fields ??= propagation.fields().map((field) => field.toLowerCase());
    const { headers } = raw;
    let carriesContext = false;
    for (const field of fields) {
      if (headers[field] !== undefined) {
        carriesContext = true;
        break;
      }
    }
    const parent = carriesContext ? propagation.extract(ROOT_CONTEXT, headers) : ROOT_CONTEXT;
    if (tracer === null) {
      return carriesContext && trace.getSpanContext(parent) !== undefined
        ? { context: parent, span: null }
        : undefined;
    }
    // Named `{method}` until onRequest knows the route; the sampler sees the kind and parent.
    const span = tracer.startSpan(raw.method ?? 'HTTP', { kind: SpanKind.SERVER }, parent);
    return { context: trace.setSpan(parent, span), span };
  }

  // The per-request child logger Fastify makes anyway (with reqId) gets the trace ids too
  // (the fields @opentelemetry/instrumentation-pino wrote), so every line of the request carries
  // them without a second child logger or a mixin run on every log call. The span is started
  // here, before onRequest, because its id is one of those bindings.
  const makeChildLogger = fastify.childLoggerFactory;
  fastify.setChildLoggerFactory(function childLoggerWithTraceIds(logger, bindings, options, raw) {
    const requestTrace = traceOf(raw);
    if (requestTrace !== undefined) {
      (raw as TracedMessage)[kTrace] = requestTrace;
      const spanContext = trace.getSpanContext(requestTrace.context);
      if (spanContext !== undefined) {
        bindings['trace_id'] = spanContext.traceId;
        bindings['span_id'] = spanContext.spanId;
        bindings['trace_flags'] = (spanContext.traceFlags & 1) === 1 ? '01' : '00';
      }
    }
    return makeChildLogger.call(this, logger, bindings, options, raw);
  });

  fastify.addHook(
    'onRequest',
    function enterRequestContext(
      request: FastifyRequest,
      _reply: FastifyReply,
      done: HookHandlerDoneFunction,
    ) {
      const requestTrace = (request.raw as TracedMessage)[kTrace];
      if (requestTrace === undefined) return done();
      const { span } = requestTrace;
      if (span?.isRecording() === true) {
        const route = request.routeOptions.url;
        if (route !== undefined) span.updateName(`${request.method} ${route}`);
        span.setAttributes(serverSpanAttributes(request, route));
      }
      context.with(requestTrace.context, done);
    },
  );

  // Body parsing runs in stream callbacks outside the onRequest hook's context: the handler gets
  // the request's context again here, right before it runs.
  fastify.addHook(
    'preHandler',
    function continueRequestContext(
      request: FastifyRequest,
      _reply: FastifyReply,
      done: HookHandlerDoneFunction,
    ) {
      const requestTrace = (request.raw as TracedMessage)[kTrace];
      if (requestTrace === undefined) return done();
      context.with(requestTrace.context, done);
    },
  );

  if (tracer === null) return;

  // Ends the span once the answer is sent. A request whose client went away before the answer
  // (onResponse never runs) loses its span: an onRequestAbort hook would cost every request a
  // 'close' listener to save the rare one.
  fastify.addHook(
    'onResponse',
    function endServerSpan(
      request: FastifyRequest,
      reply: FastifyReply,
      done: HookHandlerDoneFunction,
    ) {
      const span = (request.raw as TracedMessage)[kTrace]?.span;
      if (span !== null && span !== undefined) {
        if (span.isRecording()) {
          const status = reply.statusCode;
          span.setAttribute(HTTP.responseStatusCode, status);
          // Server spans: only a 5xx is an error (a 4xx is the client's).
          if (status >= 500) {
            span.setAttribute(HTTP.errorType, String(status));
            span.setStatus({ code: SpanStatusCode.ERROR });
          }
        }
        span.end();
      }
      done();
    },
  );
}

/** Every Fastify instance created from now on gets the hooks. */
export function instrumentFastify(options: ServerInstrumentation): void {
  subscribe('fastify.initialization', (message) => {
    addServerHooks((message as { fastify: FastifyInstance }).fastify, options);
  });
}
