// What a real GKE fleet with Cloud Service Mesh would reject although the manifests validate:
// semantics the schemas cannot see (issue "make the deployment material right, not just valid").
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { findOne, kubectl, parseYamlObjects, render, type K8sObject } from './support/kustomize.js';
import { fromRepo } from './support/paths.js';

const trustDomain = /^TRUST_DOMAIN=(.+)$/m.exec(
  readFileSync(fromRepo('k8s/components/mesh-trust-domain/mesh-settings.env'), 'utf8'),
)?.[1];

function producerIdentity(domain: string): string {
  const account = findOne(
    render('k8s/overlays/producer-cluster'),
    'ServiceAccount',
    'sample-producer-sa',
  );
  return `spiffe://${domain}/ns/${account.metadata.namespace}/sa/${account.metadata.name}`;
}

function subjectAltNames(objects: K8sObject[]): string[] | undefined {
  return (
    findOne(objects, 'ServiceEntry', 'sample-producer-clusterset').spec as {
      subjectAltNames?: string[];
    }
  ).subjectAltNames;
}

describe('the ServiceEntry pins the producer identity (ISTIO_MUTUAL accepts only its certificate)', () => {
  const copies: string[] = [];
  afterAll(() => {
    for (const dir of copies) rmSync(dir, { recursive: true, force: true });
  });

  it("caller-cluster: subjectAltNames is exactly the producer ServiceAccount's SPIFFE id", () => {
    expect(trustDomain).toBeTruthy();
    expect(subjectAltNames(render('k8s/overlays/caller-cluster'))).toEqual([
      producerIdentity(trustDomain as string),
    ]);
  });

  it('follows the one trust-domain setting (mesh-settings.env), as the AuthorizationPolicy does', () => {
    const copy = mkdtempSync(join(tmpdir(), 's2s-k8s-'));
    copies.push(copy);
    cpSync(fromRepo('k8s'), join(copy, 'k8s'), { recursive: true });
    const fleetDomain = 'example-project.svc.id.goog';
    writeFileSync(
      join(copy, 'k8s/components/mesh-trust-domain/mesh-settings.env'),
      `TRUST_DOMAIN=${fleetDomain}\n`,
    );
    const text = execFileSync(kubectl(), ['kustomize', join(copy, 'k8s/overlays/caller-cluster')], {
      encoding: 'utf8',
      maxBuffer: 32 * 1024 * 1024,
    });
    expect(subjectAltNames(parseYamlObjects(text, 'caller-cluster copy'))).toEqual([
      producerIdentity(fleetDomain),
    ]);
  });
});

describe('Managed Service for Prometheus accepts the collector metrics', () => {
  // The googlemanagedprometheus exporter rejects series carrying these labels (its README).
  const reserved = ['location', 'cluster', 'namespace', 'job', 'instance', 'project_id'];

  interface ScrapeConfig {
    relabel_configs?: { target_label?: string; action?: string; regex?: string }[];
    metric_relabel_configs?: { target_label?: string; action?: string; regex?: string }[];
  }

  const config = parse(
    readFileSync(fromRepo('k8s/observability/collector/config-googlecloud.yaml'), 'utf8'),
  ) as { receivers: { prometheus: { config: { scrape_configs: ScrapeConfig[] } } } };

  it('no relabelling produces a reserved label on a series', () => {
    const scrapes = config.receivers.prometheus.config.scrape_configs;
    expect(scrapes.length).toBeGreaterThan(0);
    for (const scrape of scrapes) {
      for (const rule of [
        ...(scrape.relabel_configs ?? []),
        ...(scrape.metric_relabel_configs ?? []),
      ]) {
        // labelmap copies meta labels under new names: its replacement could create any label.
        expect(rule.action ?? 'replace').not.toBe('labelmap');
        if (rule.target_label === undefined || rule.target_label.startsWith('__')) continue;
        expect(reserved, `relabel target ${rule.target_label}`).not.toContain(rule.target_label);
      }
    }
  });
});

describe("the collector's scrape relies on Istio's metrics merging", () => {
  const overlay = render('k8s/overlays/caller-cluster');
  const producerOverlay = render('k8s/overlays/producer-cluster');
  interface PodTemplate {
    metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
    spec: { containers: { name: string; ports?: { containerPort: number; name?: string }[] }[] };
  }
  const template = (objects: K8sObject[], name: string): PodTemplate =>
    (findOne(objects, 'Deployment', name).spec as { template: PodTemplate }).template;

  it.each([
    ['sample-caller-v1', overlay],
    ['sample-producer-v1', producerOverlay],
  ] as const)(
    '%s: annotated for the app port and /metrics, without opting out of merging',
    (name, objects) => {
      const pod = template(objects, name);
      const annotations = pod.metadata.annotations ?? {};
      expect(annotations['prometheus.io/scrape']).toBe('true');
      expect(annotations['prometheus.io/path']).toBe('/metrics');
      const appPort = pod.spec.containers[0]?.ports?.find((p) => p.name === 'http')?.containerPort;
      expect(annotations['prometheus.io/port']).toBe(String(appPort));
      expect(annotations['prometheus.istio.io/merge-metrics']).not.toBe('false');
    },
  );

  it('the collector is kept out of the mesh by the pod label (not the deprecated annotation)', () => {
    const pod = template(overlay, 'otel-collector');
    expect(pod.metadata.labels?.['sidecar.istio.io/inject']).toBe('false');
    expect(pod.metadata.annotations?.['sidecar.istio.io/inject']).toBeUndefined();
  });
});

describe('the load-test Job completes whatever sidecar the mesh injects', () => {
  interface JobSpec {
    activeDeadlineSeconds?: number;
    template: {
      spec: {
        containers: { name: string; env?: { name: string; value?: string }[] }[];
      };
    };
  }
  const job = findOne(render('k8s/loadtest'), 'Job', 's2s-loadtest').spec as JobSpec;

  it("the CLI is told pilot-agent's quit endpoint, on the pod's own loopback", () => {
    const container = job.template.spec.containers.find((c) => c.name === 'loadtest');
    const quit = container?.env?.find((e) => e.name === 'SIDECAR_QUIT_URL')?.value;
    expect(quit).toBe('http://127.0.0.1:15020/quitquitquit');
    // Only the load test runs in the pod besides the proxy: nothing else needs the mesh after it.
    expect(job.template.spec.containers.map((c) => c.name)).toEqual(['loadtest']);
    expect(job.activeDeadlineSeconds).toBeGreaterThan(0);
  });
});
