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

describe('OTEL_NODE_DISABLED_INSTRUMENTATIONS', () => {
  it('lists the short names to leave out, trimmed and lower-cased', () => {
    const settings = readTelemetrySettings(
      { OTEL_NODE_DISABLED_INSTRUMENTATIONS: ' Fastify, pino ,' },
      undefined,
    );
    expect([...settings.disabledInstrumentations].sort()).toEqual(['fastify', 'pino']);
    expect(readTelemetrySettings({}, undefined).disabledInstrumentations.size).toBe(0);
  });
});

describe('OTEL_TRACES_SAMPLER', () => {
  it('is parent-based when unset (the SDK default) or parentbased_*, not for the others', () => {
    const parentBased = (sampler?: string) =>
      readTelemetrySettings(
        sampler === undefined ? {} : { OTEL_TRACES_SAMPLER: sampler },
        undefined,
      ).parentBasedSampling;
    expect(parentBased()).toBe(true);
    expect(parentBased('parentbased_traceidratio')).toBe(true);
    expect(parentBased('ParentBased_Always_On')).toBe(true);
    expect(parentBased('always_on')).toBe(false);
    expect(parentBased('traceidratio')).toBe(false);
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
