// Reads the telemetry settings from the environment. Pure: the caller passes `env` and the entry
// script, so the rules (what enables export, which protocol, which resource attributes) are
// tested directly.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type OtlpProtocol = 'http/protobuf' | 'http/json';

export interface TelemetrySettings {
  /** `OTEL_SDK_DISABLED=true`: nothing is started, not even propagation. */
  disabled: boolean;
  /** Set when spans leave the process: only when an OTLP endpoint is configured. */
  export: { protocol: OtlpProtocol } | null;
  /** `service.name` when `OTEL_SERVICE_NAME` is unset (the SDK's env detector applies it otherwise). */
  fallbackServiceName: string;
  /** Resource attributes taken from the pod's identity variables. */
  resourceAttributes: Record<string, string>;
  /** OTEL_TRACES_SAMPLER (default `parentbased_always_on`) and its OTEL_TRACES_SAMPLER_ARG ratio. */
  sampler: { name: SamplerName; ratio: number };
  /** OTEL_PROPAGATORS, lower-cased (empty: the default `tracecontext,baggage`). */
  propagators: string[];
  /** OTEL_BSP_* of the batch span processor; unset ones keep the SDK's defaults. */
  batch: {
    maxQueueSize?: number;
    scheduledDelayMillis?: number;
    exportTimeoutMillis?: number;
    maxExportBatchSize?: number;
  };
  /** Anything worth a start-up warning (unsupported protocol, …). */
  warnings: string[];
}

export type SamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

const SAMPLERS: ReadonlySet<string> = new Set<SamplerName>([
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
]);

type Env = Readonly<Record<string, string | undefined>>;

function value(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw === undefined || raw === '' ? undefined : raw;
}

// Same truthiness as @opentelemetry/core's getBooleanFromEnv: only "true" (any case) is true.
function isTrue(env: Env, name: string): boolean {
  return value(env, name)?.toLowerCase() === 'true';
}

function otlpProtocol(env: Env, warnings: string[]): OtlpProtocol {
  const protocol =
    value(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ??
    value(env, 'OTEL_EXPORTER_OTLP_PROTOCOL') ??
    'http/protobuf';
  if (protocol === 'http/protobuf' || protocol === 'http/json') return protocol;
  warnings.push(
    `OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported by @s2s/telemetry (http/protobuf, http/json): using http/protobuf`,
  );
  return 'http/protobuf';
}

function sampler(env: Env, warnings: string[]): TelemetrySettings['sampler'] {
  const raw = value(env, 'OTEL_TRACES_SAMPLER')?.toLowerCase() ?? 'parentbased_always_on';
  let name: SamplerName = 'parentbased_always_on';
  if (SAMPLERS.has(raw)) name = raw as SamplerName;
  else warnings.push(`OTEL_TRACES_SAMPLER=${raw} is not supported: using parentbased_always_on`);
  const arg = value(env, 'OTEL_TRACES_SAMPLER_ARG');
  let ratio = 1;
  if (arg !== undefined) {
    const parsed = Number(arg);
    if (Number.isFinite(parsed) && parsed >= 0 && parsed <= 1) ratio = parsed;
    else warnings.push(`OTEL_TRACES_SAMPLER_ARG=${arg} is not a ratio from 0 to 1: using 1`);
  }
  return { name, ratio };
}

/** `{ [key]: n }` for a whole number ≥ 0 in `name`, `{}` when unset (a warning when invalid). */
function optionalCount<K extends string>(
  env: Env,
  name: string,
  key: K,
  warnings: string[],
): Partial<Record<K, number>> {
  const raw = value(env, name);
  if (raw === undefined) return {};
  const parsed = Number(raw);
  if (Number.isInteger(parsed) && parsed >= 0) return { [key]: parsed } as Record<K, number>;
  warnings.push(`${name}=${raw} is not a whole number ≥ 0: ignored`);
  return {};
}

/**
 * The unscoped name of the package that holds the entry script (`apps/caller/dist/server.js` →
 * `caller`), so a process started without `OTEL_SERVICE_NAME` still reports who it is.
 */
export function serviceNameFromEntry(entryScript: string | undefined): string | undefined {
  if (entryScript === undefined) return undefined;
  let dir = dirname(entryScript);
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: unknown;
      };
      if (typeof manifest.name === 'string' && manifest.name !== '') {
        return manifest.name.replace(/^@[^/]+\//, '');
      }
    } catch {
      // no (readable) package.json here: keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export function readTelemetrySettings(
  env: Env,
  entryScript: string | undefined,
): TelemetrySettings {
  const warnings: string[] = [];
  const endpoint =
    value(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? value(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  // OTEL_TRACES_EXPORTER=none is the standard way to keep an endpoint set but stop trace export.
  const tracesExporter = value(env, 'OTEL_TRACES_EXPORTER')?.toLowerCase();
  const exporting = endpoint !== undefined && tracesExporter !== 'none';

  // Pod identity, the same variables the apps show in their metadata (see the CONTRACT's
  // configuration table); the Downward API sets them in the clusters.
  const identity: Array<[attribute: string, variable: string]> = [
    ['service.version', 'APP_VERSION'],
    ['k8s.pod.name', 'POD_NAME'],
    ['k8s.namespace.name', 'POD_NAMESPACE'],
    ['k8s.cluster.name', 'CLUSTER_NAME'],
    ['cloud.availability_zone', 'CLUSTER_LOCATION'],
  ];
  const resourceAttributes: Record<string, string> = {};
  for (const [attribute, variable] of identity) {
    const found = value(env, variable);
    if (found !== undefined) resourceAttributes[attribute] = found;
  }

  return {
    disabled: isTrue(env, 'OTEL_SDK_DISABLED'),
    export: exporting ? { protocol: otlpProtocol(env, warnings) } : null,
    fallbackServiceName: serviceNameFromEntry(entryScript) ?? 'unknown_service:node',
    resourceAttributes,
    sampler: sampler(env, warnings),
    propagators: (value(env, 'OTEL_PROPAGATORS') ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter((name) => name !== ''),
    batch: {
      ...optionalCount(env, 'OTEL_BSP_MAX_QUEUE_SIZE', 'maxQueueSize', warnings),
      ...optionalCount(env, 'OTEL_BSP_SCHEDULE_DELAY', 'scheduledDelayMillis', warnings),
      ...optionalCount(env, 'OTEL_BSP_EXPORT_TIMEOUT', 'exportTimeoutMillis', warnings),
      ...optionalCount(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 'maxExportBatchSize', warnings),
    },
    warnings,
  };
}
