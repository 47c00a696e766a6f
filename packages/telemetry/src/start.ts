// Builds and starts the NodeSDK from TelemetrySettings. Everything is explicit: which
// instrumentations, which propagators, which span processor; only the OTLP exporters and the
// sampler read their own standard OTEL_* variables.
import { FastifyOtelInstrumentation } from '@fastify/otel';
import type { Attributes, Span } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { OTLPTraceExporter as OtlpJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK, type NodeSDKConfiguration } from '@opentelemetry/sdk-node';
import { NoopSpanProcessor } from '@opentelemetry/sdk-trace';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVICE_NAME,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions';
import type { FastifyRequest } from 'fastify';
import type { TelemetryHandle } from './handle.js';
import type { TelemetrySettings } from './settings.js';
import { createUndiciInstrumentation } from './undici-client-spans.js';
import { isUntracedPath } from './untraced-paths.js';

/** Short names for OTEL_NODE_DISABLED_INSTRUMENTATIONS (the variable auto-instrumentations-node reads). */
export type InstrumentationName = 'http' | 'undici' | 'fastify' | 'pino';

/**
 * Gives @fastify/otel's span (named `request`) the HTTP semantic-conventions name of a server
 * span, `{method} {http.route}` (just `{method}` for an unmatched route), and the attributes the
 * http instrumentation used to add. Only a recorded (sampled) span gets the attributes: an
 * unsampled request pays for nothing it would not keep.
 */
export function nameServerSpan(span: Span, request: FastifyRequest): void {
  if (!span.isRecording()) return;
  const route = request.routeOptions.url;
  span.updateName(route === undefined ? request.method : `${request.method} ${route}`);
  const attributes: Attributes = {
    [ATTR_URL_SCHEME]: request.protocol,
    [ATTR_SERVER_ADDRESS]: request.hostname,
    [ATTR_CLIENT_ADDRESS]: request.ip,
    [ATTR_NETWORK_PROTOCOL_VERSION]: request.raw.httpVersion,
  };
  const userAgent = request.headers['user-agent'];
  if (userAgent !== undefined) attributes[ATTR_USER_AGENT_ORIGINAL] = userAgent;
  span.setAttributes(attributes);
}

export function createInstrumentations(
  disabled: ReadonlySet<string> = new Set(),
  { parentBasedSampling = true }: { parentBasedSampling?: boolean } = {},
): Instrumentation[] {
  const all: Array<[InstrumentationName, () => Instrumentation]> = [
    [
      'http',
      () =>
        new HttpInstrumentation({
          // Incoming requests get their SERVER span from @fastify/otel (below), which creates one
          // of kind SERVER when no http server span exists. Letting this instrumentation make it
          // too cost about 150 µs of CPU per request even when the request is not sampled
          // (attributes computed before sampling, request and response emitters re-bound to the
          // context, response attributes at the end): that was most of the telemetry overhead in
          // bench/telemetry-overhead.bench.mjs. Outgoing node:http requests stay instrumented.
          disableIncomingRequestInstrumentation: true,
        }),
    ],
    // undici publishes diagnostics_channel events, so this works for an ESM `import { request }
    // from 'undici'` without any loader hook; it injects traceparent into the outgoing headers.
    ['undici', () => createUndiciInstrumentation({ parentBasedSampling })],
    [
      'fastify',
      () =>
        new FastifyOtelInstrumentation({
          // Subscribes to Fastify's `fastify.initialization` diagnostics channel: every Fastify
          // instance gets the plugin without the app registering anything.
          registerOnInitialization: true,
          ignorePaths: (route) => isUntracedPath(route.url),
          // A span per hook (onRequest, preValidation, …) or for the handler would triple the
          // spans per request for little insight (each route has one handler); the one
          // `request` span per request is the SERVER span (see the http instrumentation above).
          instrumentHooks: false,
          instrumentHandler: false,
          requestHook: nameServerSpan,
        }),
    ],
    [
      'pino',
      () =>
        new PinoInstrumentation({
          // Log correlation only (trace_id/span_id/trace_flags on each line written inside a span).
          // Logs go to stdout for the platform's log agent, not over OTLP.
          disableLogSending: true,
        }),
    ],
  ];
  return all.filter(([name]) => !disabled.has(name)).map(([, create]) => create());
}

export function startTelemetry(settings: TelemetrySettings): TelemetryHandle | undefined {
  if (settings.disabled) return undefined;

  const traceExport: Partial<Pick<NodeSDKConfiguration, 'traceExporter' | 'spanProcessors'>> =
    settings.export === null
      ? // No endpoint: spans are still created and sampled (so `traceparent` is forwarded with the
        // right sampled flag and log lines get ids) but go nowhere. Without a processor the
        // NodeSDK would not register a tracer provider at all.
        { spanProcessors: [new NoopSpanProcessor()] }
      : {
          // The exporters read OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _HEADERS, _TIMEOUT themselves;
          // the NodeSDK wraps them in a BatchSpanProcessor configured by OTEL_BSP_*.
          traceExporter:
            settings.export.protocol === 'http/json'
              ? new OtlpJsonTraceExporter()
              : new OtlpProtobufTraceExporter(),
        };

  const sdk = new NodeSDK({
    // The env detector (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) runs after this base resource,
    // so explicit OTEL_* settings win over the derived name and the identity variables.
    resource: defaultResource().merge(
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: settings.fallbackServiceName,
        ...settings.resourceAttributes,
      }),
    ),
    ...traceExport,
    // Metrics are the apps' own Prometheus /metrics (prom-client); logs are pino on stdout. An
    // empty list stops the NodeSDK from starting its OTLP metrics/logs exporters from env.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: createInstrumentations(settings.disabledInstrumentations, {
      parentBasedSampling: settings.parentBasedSampling,
    }),
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}
