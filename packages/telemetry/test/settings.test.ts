import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTelemetrySettings, serviceNameFromEntry } from '../src/settings.js';
import { isUntracedPath } from '../src/untraced-paths.js';

describe('readTelemetrySettings', () => {
  it('exports nothing without an OTLP endpoint', () => {
    expect(readTelemetrySettings({}, undefined).export).toBeNull();
    expect(
      readTelemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }, undefined).export,
    ).toBeNull();
  });

  it('exports over http/protobuf by default once an endpoint is set', () => {
    expect(
      readTelemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, undefined).export,
    ).toEqual({
      protocol: 'http/protobuf',
    });
    expect(
      readTelemetrySettings(
        { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' },
        undefined,
      ).export,
    ).toEqual({ protocol: 'http/protobuf' });
  });

  it('takes the protocol from OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL, the traces one first', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' };
    expect(
      readTelemetrySettings({ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, undefined)
        .export,
    ).toEqual({
      protocol: 'http/json',
    });
    expect(
      readTelemetrySettings(
        {
          ...endpoint,
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
          OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
        },
        undefined,
      ).export,
    ).toEqual({ protocol: 'http/json' });
  });

  it('falls back to http/protobuf with a warning for grpc', () => {
    const settings = readTelemetrySettings(
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
      undefined,
    );
    expect(settings.export).toEqual({ protocol: 'http/protobuf' });
    expect(settings.warnings.join()).toMatch(/grpc/);
  });

  it('honours OTEL_TRACES_EXPORTER=none even with an endpoint', () => {
    expect(
      readTelemetrySettings(
        { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' },
        undefined,
      ).export,
    ).toBeNull();
  });

  it('is disabled only by OTEL_SDK_DISABLED=true', () => {
    expect(readTelemetrySettings({ OTEL_SDK_DISABLED: 'true' }, undefined).disabled).toBe(true);
    expect(readTelemetrySettings({ OTEL_SDK_DISABLED: 'TRUE' }, undefined).disabled).toBe(true);
    expect(readTelemetrySettings({ OTEL_SDK_DISABLED: 'false' }, undefined).disabled).toBe(false);
    expect(readTelemetrySettings({ OTEL_SDK_DISABLED: '1' }, undefined).disabled).toBe(false);
    expect(readTelemetrySettings({}, undefined).disabled).toBe(false);
  });

  it('maps the pod identity variables to resource attributes, leaving unset ones out', () => {
    const settings = readTelemetrySettings(
      {
        APP_VERSION: '1.2.3',
        POD_NAME: 'sample-caller-abc',
        POD_NAMESPACE: 'istio-apps',
        CLUSTER_NAME: 'cluster-1',
        CLUSTER_LOCATION: 'us-west1-a',
      },
      undefined,
    );
    expect(settings.resourceAttributes).toEqual({
      'service.version': '1.2.3',
      'k8s.pod.name': 'sample-caller-abc',
      'k8s.namespace.name': 'istio-apps',
      'k8s.cluster.name': 'cluster-1',
      'cloud.availability_zone': 'us-west1-a',
    });
    expect(readTelemetrySettings({ POD_NAME: '' }, undefined).resourceAttributes).toEqual({});
  });
});

describe('OTEL_PROPAGATORS', () => {
  it('lists the propagator names, trimmed and lower-cased; empty means the default', () => {
    const settings = readTelemetrySettings(
      { OTEL_PROPAGATORS: ' TraceContext, b3multi ,' },
      undefined,
    );
    expect(settings.propagators).toEqual(['tracecontext', 'b3multi']);
    expect(readTelemetrySettings({}, undefined).propagators).toEqual([]);
  });
});

describe('OTEL_TRACES_SAMPLER', () => {
  const read = (env: Record<string, string>) => readTelemetrySettings(env, undefined);

  it('is parentbased_always_on with ratio 1 when unset (the SDK default)', () => {
    expect(read({}).sampler).toEqual({ name: 'parentbased_always_on', ratio: 1 });
  });

  it('takes the name in any case and the ratio from OTEL_TRACES_SAMPLER_ARG', () => {
    expect(
      read({ OTEL_TRACES_SAMPLER: 'ParentBased_TraceIdRatio', OTEL_TRACES_SAMPLER_ARG: '0.1' })
        .sampler,
    ).toEqual({ name: 'parentbased_traceidratio', ratio: 0.1 });
  });

  it('warns and falls back on an unknown sampler or a ratio outside 0…1', () => {
    const unknown = read({ OTEL_TRACES_SAMPLER: 'jaeger_remote' });
    expect(unknown.sampler.name).toBe('parentbased_always_on');
    expect(unknown.warnings.join('\n')).toContain('OTEL_TRACES_SAMPLER=jaeger_remote');
    const badRatio = read({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' });
    expect(badRatio.sampler).toEqual({ name: 'traceidratio', ratio: 1 });
    expect(badRatio.warnings.join('\n')).toContain('OTEL_TRACES_SAMPLER_ARG=2');
  });
});

describe('OTEL_BSP_*', () => {
  it('passes whole numbers to the batch span processor and warns on others', () => {
    const settings = readTelemetrySettings(
      { OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_BSP_MAX_QUEUE_SIZE: 'lots' },
      undefined,
    );
    expect(settings.batch).toEqual({ scheduledDelayMillis: 100 });
    expect(settings.warnings.join('\n')).toContain('OTEL_BSP_MAX_QUEUE_SIZE=lots');
  });
});

describe('serviceNameFromEntry', () => {
  it("names the service after the entry script's package, without the scope", () => {
    const app = mkdtempSync(join(tmpdir(), 's2s-telemetry-'));
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: '@s2s/caller' }));
    mkdirSync(join(app, 'dist'));
    expect(serviceNameFromEntry(join(app, 'dist', 'server.js'))).toBe('caller');
    expect(readTelemetrySettings({}, join(app, 'dist', 'server.js')).fallbackServiceName).toBe(
      'caller',
    );
  });

  it('has a fallback when there is no entry script', () => {
    expect(readTelemetrySettings({}, undefined).fallbackServiceName).toBe('unknown_service:node');
  });
});

describe('isUntracedPath', () => {
  it('matches the probes and /metrics, with or without a query string, and nothing else', () => {
    for (const path of ['/livez', '/readyz', '/metrics', '/readyz?verbose=1'])
      expect(isUntracedPath(path)).toBe(true);
    for (const path of ['/', '/caller/messages', '/livez/x', '/metricsx', undefined]) {
      expect(isUntracedPath(path)).toBe(false);
    }
  });
});
