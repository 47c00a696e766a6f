// Static checks of k8s/observability that need no cluster and no kubectl: the collector
// configurations are internally consistent, and the apps' OTEL_* patch points at the
// collector's Service. (manifests-schema.test.ts renders and validates them with the overlays.)
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { fromRepo } from './support/paths.js';

const OBSERVABILITY = `${fromRepo('k8s', 'observability')}/`;

function readYaml(path: string): unknown {
  return parse(readFileSync(`${OBSERVABILITY}${path}`, 'utf8'));
}

interface CollectorConfig {
  extensions?: Record<string, unknown>;
  receivers: Record<string, unknown>;
  processors?: Record<string, unknown>;
  exporters: Record<string, unknown>;
  service: {
    extensions?: string[];
    pipelines: Record<string, { receivers: string[]; processors?: string[]; exporters: string[] }>;
  };
}

interface Container {
  name: string;
  env?: Array<{ name: string; value?: string }>;
  ports?: Array<{ name: string; containerPort: number }>;
}
interface Deployment {
  metadata: { name: string };
  spec: { template: { spec: { containers: Container[] } } };
}
interface Service {
  metadata: { name: string };
  spec: { ports: Array<{ name: string; port: number; targetPort: string | number }> };
}

describe.each(['collector/config-googlecloud.yaml', 'otlp-backend/config-otlp.yaml'])(
  '%s',
  (file) => {
    const config = readYaml(file) as CollectorConfig;

    it('defines every component a pipeline or the service uses', () => {
      for (const [name, pipeline] of Object.entries(config.service.pipelines)) {
        for (const receiver of pipeline.receivers)
          expect(config.receivers, `${name}: ${receiver}`).toHaveProperty([receiver]);
        for (const processor of pipeline.processors ?? []) {
          expect(config.processors ?? {}, `${name}: ${processor}`).toHaveProperty([processor]);
        }
        for (const exporter of pipeline.exporters)
          expect(config.exporters, `${name}: ${exporter}`).toHaveProperty([exporter]);
        // memory_limiter must come first to protect everything after it.
        if (pipeline.processors?.includes('memory_limiter'))
          expect(pipeline.processors[0]).toBe('memory_limiter');
      }
      for (const extension of config.service.extensions ?? []) {
        expect(config.extensions ?? {}).toHaveProperty([extension]);
      }
    });

    it('receives OTLP traces on all interfaces, on the ports the Service exposes', () => {
      expect(config.service.pipelines.traces?.receivers).toContain('otlp');
      const otlp = config.receivers.otlp as { protocols: Record<string, { endpoint: string }> };
      expect(otlp.protocols.grpc?.endpoint).toBe('0.0.0.0:4317');
      expect(otlp.protocols.http?.endpoint).toBe('0.0.0.0:4318');
    });
  },
);

describe('collector workload', () => {
  const deployment = readYaml('collector/deployment.yaml') as Deployment;
  const service = readYaml('collector/service.yaml') as Service;
  const container = deployment.spec.template.spec.containers[0]!;

  it('runs the contrib image (googlecloud exporters) pinned to a version', () => {
    expect((container as Container & { image: string }).image).toMatch(
      /^otel\/opentelemetry-collector-contrib:\d+\.\d+\.\d+$/,
    );
  });

  it('maps every Service port to a named container port', () => {
    const containerPorts = new Map(
      (container.ports ?? []).map((port) => [port.name, port.containerPort]),
    );
    expect(
      service.spec.ports.map((port) => [port.port, containerPorts.get(String(port.targetPort))]),
    ).toEqual([
      [4317, 4317],
      [4318, 4318],
    ]);
  });

  it('reads its configuration from the generated ConfigMap', () => {
    const kustomization = readYaml('collector/kustomization.yaml') as {
      configMapGenerator: Array<{ name: string; files: string[] }>;
    };
    expect(kustomization.configMapGenerator[0]).toMatchObject({
      name: 'otel-collector-config',
      files: ['config.yaml=config-googlecloud.yaml'],
    });
    const args = (container as Container & { args: string[] }).args;
    expect(args).toEqual(['--config=/etc/otelcol/config.yaml']);
  });
});

describe('app-env component', () => {
  it.each(['caller', 'producer'])(
    'points sample-%s at the collector Service over OTLP/HTTP',
    (app) => {
      const [document] = parseAllDocuments(
        readFileSync(`${OBSERVABILITY}app-env/${app}-env.yaml`, 'utf8'),
      );
      const patch = document!.toJS() as Deployment;
      expect(patch.metadata.name).toBe(`sample-${app}-v1`);
      const env = new Map(
        (patch.spec.template.spec.containers[0]?.env ?? []).map((entry) => [
          entry.name,
          entry.value,
        ]),
      );
      expect(env.get('OTEL_EXPORTER_OTLP_ENDPOINT')).toBe('http://otel-collector.istio-apps:4318');
      expect(env.get('OTEL_EXPORTER_OTLP_PROTOCOL')).toBe('http/protobuf');
      expect(env.get('OTEL_TRACES_SAMPLER')).toBe('parentbased_traceidratio');
      expect(Number(env.get('OTEL_TRACES_SAMPLER_ARG'))).toBeGreaterThan(0);
    },
  );
});
