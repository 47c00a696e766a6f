// Starts telemetry from TelemetrySettings, paying only for what is used:
// - always (unless OTEL_SDK_DISABLED=true): the context manager, the propagators of
//   OTEL_PROPAGATORS, and the Fastify server hooks (fastify-server.ts), so incoming trace
//   context reaches the outgoing calls and the log lines;
// - only with an OTLP endpoint: a TracerProvider with the sampler of OTEL_TRACES_SAMPLER, a batch
//   span processor (OTEL_BSP_*) and the OTLP/HTTP exporter, all loaded on demand (the SDK and
//   exporter modules are never imported by a process that exports nothing; the exporter's only
//   at the first export, lazy-exporter.ts).
// Without an endpoint no tracer provider is registered: the API's no-op tracer makes no span,
// @s2s/service-client's client span is a non-recording stand-in carrying the incoming ids.
import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import { instrumentFastify, SCOPE_NAME } from './fastify-server.js';
import { AsyncLocalStorageContextManager } from './context-manager.js';
import { LazyOtlpExporter } from './lazy-exporter.js';
import type { TelemetryHandle } from './handle.js';
import { propagatorFromNames } from './propagators.js';
import type { TelemetrySettings } from './settings.js';

async function startTracerProvider(
  settings: TelemetrySettings,
  exportSettings: NonNullable<TelemetrySettings['export']>,
): Promise<{ tracer: Tracer; shutdown: () => Promise<void> }> {
  const [sdk, resources] = await Promise.all([
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/resources'),
  ]);
  const { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler } = sdk;
  const root = {
    always_on: () => new AlwaysOnSampler(),
    always_off: () => new AlwaysOffSampler(),
    traceidratio: () => new TraceIdRatioBasedSampler(settings.sampler.ratio),
  };
  const { name } = settings.sampler;
  const sampler = name.startsWith('parentbased_')
    ? new ParentBasedSampler({
        root: root[name.slice('parentbased_'.length) as keyof typeof root](),
      })
    : root[name as keyof typeof root]();

  const exporter = new LazyOtlpExporter(exportSettings.protocol);
  const provider = new sdk.TracerProvider({
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detectors) win over the name derived
    // from the entry script and over the pod identity variables.
    resource: resources
      .defaultResource()
      .merge(
        resources.resourceFromAttributes({
          'service.name': settings.fallbackServiceName,
          ...settings.resourceAttributes,
        }),
      )
      .merge(
        resources.detectResources({
          detectors: [resources.resourceAttributesEnvDetector, resources.serviceNameEnvDetector],
        }),
      ),
    sampler,
    spanProcessors: [new sdk.BatchSpanProcessor({ exporter, ...settings.batch })],
  });
  trace.setGlobalTracerProvider(provider);
  return { tracer: provider.getTracer(SCOPE_NAME), shutdown: () => provider.shutdown() };
}

export async function startTelemetry(
  settings: TelemetrySettings,
): Promise<TelemetryHandle | undefined> {
  if (settings.disabled) return undefined;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager());
  const propagator = await propagatorFromNames(settings.propagators, settings.warnings);
  if (propagator !== null) propagation.setGlobalPropagator(propagator);

  const exporting =
    settings.export === null ? null : await startTracerProvider(settings, settings.export);
  instrumentFastify({ tracer: exporting?.tracer ?? null });
  return {
    shutdown: async () => {
      await exporting?.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}
