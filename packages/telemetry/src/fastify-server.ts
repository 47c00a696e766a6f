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
// trace_flags (the fields @opentelemetry/instrumentation-pino wrote): request.log and reply.log
// become a child logger with those bindings, one object per request instead of a mixin on
// every log call.
import { subscribe } from 'node:diagnostics_channel';
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
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify';
import { isUntracedPath } from './untraced-paths.js';

/** The instrumentation scope of the server spans. */
export const SCOPE_NAME = '@s2s/telemetry';

const kContext = Symbol('s2s.telemetry.context');
const kSpan = Symbol('s2s.telemetry.span');

interface TracedRequest extends FastifyRequest {
  [kContext]: Context | null;
  [kSpan]: Span | null;
}

export interface ServerInstrumentation {
  /** null: no exporter, so no spans (context is still extracted and continued). */
  tracer: Tracer | null;
}

/** Header names any registered propagator reads, lower-cased (read once, after registration). */
function propagatorFields(): readonly string[] {
  return propagation.fields().map((field) => field.toLowerCase());
}

/** The span context's ids as the log fields of @opentelemetry/instrumentation-pino. */
function correlateLogs(request: FastifyRequest, reply: FastifyReply, ctx: Context): void {
  const spanContext = trace.getSpanContext(ctx);
  if (spanContext === undefined) return;
  const log = request.log.child({
    trace_id: spanContext.traceId,
    span_id: spanContext.spanId,
    trace_flags: `0${(spanContext.traceFlags & 1).toString(16)}`,
  });
  request.log = log;
  reply.log = log;
}

function serverSpanAttributes(request: FastifyRequest, route: string | undefined): Attributes {
  const queryAt = request.url.indexOf('?');
  const attributes: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: request.method,
    [ATTR_URL_PATH]: queryAt === -1 ? request.url : request.url.slice(0, queryAt),
    [ATTR_URL_SCHEME]: request.protocol,
    [ATTR_SERVER_ADDRESS]: request.hostname,
    [ATTR_CLIENT_ADDRESS]: request.ip,
    [ATTR_NETWORK_PROTOCOL_VERSION]: request.raw.httpVersion,
  };
  if (route !== undefined) attributes[ATTR_HTTP_ROUTE] = route;
  const userAgent = request.headers['user-agent'];
  if (userAgent !== undefined) attributes[ATTR_USER_AGENT_ORIGINAL] = userAgent;
  return attributes;
}

export function addServerHooks(fastify: FastifyInstance, { tracer }: ServerInstrumentation): void {
  let fields: readonly string[] | undefined;
  fastify.decorateRequest(kContext, null);
  fastify.decorateRequest(kSpan, null);

  fastify.addHook(
    'onRequest',
    function startServerSpan(
      request: FastifyRequest,
      reply: FastifyReply,
      done: HookHandlerDoneFunction,
    ) {
      if (isUntracedPath(request.url)) return done();
      fields ??= propagatorFields();
      const { headers } = request;
      let carriesContext = false;
      for (const field of fields) {
        if (headers[field] !== undefined) {
          carriesContext = true;
          break;
        }
      }
      const parent = carriesContext ? propagation.extract(ROOT_CONTEXT, headers) : ROOT_CONTEXT;
      let ctx: Context;
      if (tracer !== null) {
        const route = request.routeOptions.url;
        const span = tracer.startSpan(
          route === undefined ? request.method : `${request.method} ${route}`,
          { kind: SpanKind.SERVER },
          parent,
        );
        if (span.isRecording()) span.setAttributes(serverSpanAttributes(request, route));
        (request as TracedRequest)[kSpan] = span;
        ctx = trace.setSpan(parent, span);
      } else if (carriesContext) {
        ctx = parent;
      } else {
        return done();
      }
      (request as TracedRequest)[kContext] = ctx;
      correlateLogs(request, reply, ctx);
      context.with(ctx, done);
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
      const ctx = (request as TracedRequest)[kContext];
      if (ctx === null) return done();
      context.with(ctx, done);
    },
  );

  if (tracer === null) return;

  fastify.addHook(
    'onResponse',
    function endServerSpan(
      request: FastifyRequest,
      reply: FastifyReply,
      done: HookHandlerDoneFunction,
    ) {
      const span = (request as TracedRequest)[kSpan];
      if (span !== null) {
        (request as TracedRequest)[kSpan] = null;
        if (span.isRecording()) {
          const status = reply.statusCode;
          span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
          // Server spans: only a 5xx is an error (a 4xx is the client's).
          if (status >= 500) {
            span.setAttribute(ATTR_ERROR_TYPE, String(status));
            span.setStatus({ code: SpanStatusCode.ERROR });
          }
        }
        span.end();
      }
      done();
    },
  );

  // The client went away before an answer: onResponse never runs for it.
  fastify.addHook('onRequestAbort', function endAbortedServerSpan(request: FastifyRequest) {
    const span = (request as TracedRequest)[kSpan];
    if (span === null) return;
    (request as TracedRequest)[kSpan] = null;
    if (span.isRecording()) span.setAttribute(ATTR_ERROR_TYPE, 'aborted');
    span.end();
  });
}

/** Every Fastify instance created from now on gets the hooks. */
export function instrumentFastify(options: ServerInstrumentation): void {
  subscribe('fastify.initialization', (message) => {
    addServerHooks((message as { fastify: FastifyInstance }).fastify, options);
  });
}
