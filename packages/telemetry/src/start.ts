// Builds and starts the NodeSDK from TelemetrySettings. Everything is explicit: which
// instrumentations, which propagators, which span processor; only the OTLP exporters and the
// sampler read their own standard OTEL_* variables.
import { FastifyOtelInstrumentation } from '@fastify/otel';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { OTLPTraceExporter as OtlpJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK, type NodeSDKConfiguration } from '@opentelemetry/sdk-node';
import { NoopSpanProcessor } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { TelemetryHandle } from './handle.js';
import type { TelemetrySettings } from './settings.js';
import { createUndiciInstrumentation } from './undici-client-spans.js';
import { isUntracedPath } from './untraced-paths.js';

/** Short names for OTEL_NODE_DISABLED_INSTRUMENTATIONS (the variable auto-instrumentations-node reads). */
export type InstrumentationName = 'http' | 'undici' | 'fastify' | 'pino';

export function createInstrumentations(
  disabled: ReadonlySet<string> = new Set(),
): Instrumentation[] {
  const all: Array<[InstrumentationName, () => Instrumentation]> = [
    [
      'http',
      () =>
        new HttpInstrumentation({
          ignoreIncomingRequestHook: (request) => isUntracedPath(request.url),
        }),
    ],
    // undici publishes diagnostics_channel events, so this works for an ESM `import { request }
    // from 'undici'` without any loader hook; it injects traceparent into the outgoing headers.
    ['undici', createUndiciInstrumentation],
    [
      'fastify',
      () =>
        new FastifyOtelInstrumentation({
          // Subscribes to Fastify's `fastify.initialization` diagnostics channel: every Fastify
          // instance gets the plugin without the app registering anything.
          registerOnInitialization: true,
          ignorePaths: (route) => isUntracedPath(route.url),
          // A span per hook (onRequest, preValidation, …) or for the handler would triple the
          // spans per request for little insight (each route has one handler); the `request`
          // span with `http.route` stays, and sets the route on the http server span too.
          instrumentHooks: false,
          instrumentHandler: false,
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
    instrumentations: createInstrumentations(settings.disabledInstrumentations),
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}
