// The second exporting cluster (issue 15): k8s/overlays/producer-cluster-2 and the skaffold
// config `producer-2` that deploys it. Kept apart from the big shared test files.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findAll, findOne, render } from './support/kustomize.js';
import { fromRepo } from './support/paths.js';
import { configNamed, loadSkaffoldConfigs, schemaErrors, withProfile } from './support/skaffold.js';

const first = render('k8s/overlays/producer-cluster');
const second = render('k8s/overlays/producer-cluster-2');

function clusterName(objects: ReturnType<typeof render>): string | undefined {
  const deployment = findOne(objects, 'Deployment', 'sample-producer-v1') as {
    spec: {
      template: {
        spec: { containers: { name: string; env?: { name: string; value?: string }[] }[] };
      };
    };
  };
  const container = deployment.spec.template.spec.containers.find(
    (c) => c.name === 'sample-producer',
  );
  return container?.env?.find((variable) => variable.name === 'CLUSTER_NAME')?.value;
}

/** An object's identity: kind, namespace and name. */
const identity = (object: { kind: string; metadata?: { name?: string; namespace?: string } }) =>
  `${object.kind} ${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;

describe('k8s/overlays/producer-cluster-2', () => {
  it('exports the same Service under the same name and namespace, so MCS merges both clusters into one ServiceImport', () => {
    const exports = findAll(second, 'ServiceExport');
    expect(exports.map(identity)).toEqual(['ServiceExport istio-apps/sample-producer']);
    expect(exports[0]!.apiVersion).toBe('net.gke.io/v1');
    expect(findAll(first, 'ServiceExport').map(identity)).toEqual(exports.map(identity));
    const service = findOne(second, 'Service', 'sample-producer') as {
      spec: { ports: { port: number; name: string }[] };
    };
    expect(service.spec.ports).toEqual(
      expect.arrayContaining([expect.objectContaining({ port: 8080, name: 'http' })]),
    );
  });

  it("differs from the first producer cluster only in the pods' CLUSTER_NAME", () => {
    expect(clusterName(first)).toBe('producer-cluster');
    expect(clusterName(second)).toBe('producer-cluster-2');
    expect(second.map(identity).sort()).toEqual(first.map(identity).sort());
    const withoutName = (objects: ReturnType<typeof render>) =>
      JSON.stringify(objects).replaceAll('"producer-cluster-2"', '"producer-cluster"');
    expect(withoutName(second)).toEqual(withoutName(first));
  });

  it('names the cluster as the simulation does (its second exporting cluster)', () => {
    const topology = readFileSync(fromRepo('packages/clusterset-sim/src/topology.ts'), 'utf8');
    expect(topology).toMatch(/PRODUCER_CLUSTER_2 = \{\s*name: 'producer-cluster-2'/);
  });
});

describe('skaffold config producer-2', () => {
  const configs = loadSkaffoldConfigs();
  const producer2 = configNamed(configs, 'producer-2');

  it('is opt-in: without its profile it builds and deploys nothing (a two-cluster setup keeps working), and deploys before the load test', () => {
    expect(producer2.build).toBeUndefined();
    expect(producer2.manifests).toBeUndefined();
    expect(producer2.deploy).toBeUndefined();
    const names = configs.map((config) => config.metadata?.name);
    expect(names.indexOf('producer-2')).toBeLessThan(names.indexOf('loadtest'));
  });

  it('with -p two-producer-clusters deploys the overlay to its own kube-context, the same image as the first producer cluster', () => {
    const active = withProfile(producer2, 'two-producer-clusters');
    expect(schemaErrors(active)).toEqual([]);
    expect(active.deploy?.kubeContext).toBe('producer-cluster-2');
    expect(active.manifests?.kustomize?.paths).toEqual(['k8s/overlays/producer-cluster-2']);
    const producer = configNamed(configs, 'producer');
    expect(active.build?.artifacts).toEqual(producer.build?.artifacts);
    expect(
      new Set(
        configs.map((config) => config.deploy?.kubeContext).concat(active.deploy?.kubeContext),
      ).size,
    ).toBe(new Set(['producer-cluster', 'caller-cluster', 'producer-cluster-2', undefined]).size);
  });
});
