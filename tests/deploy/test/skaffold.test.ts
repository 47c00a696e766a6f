import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDockerfile } from './support/dockerfile.js';
import { findAll, render } from './support/kustomize.js';
import { fromRepo, overlays } from './support/paths.js';
import {
  configNamed,
  loadSkaffoldConfigs,
  schemaErrors,
  withProfile,
  type SkaffoldConfig,
} from './support/skaffold.js';

const configs = loadSkaffoldConfigs();
const twoClusterConfigs = ['producer', 'caller'] as const;
const sharedProfiles = ['dev', 'single-cluster', 'single-cluster-dev'] as const;

/** Every variant Skaffold can run: each config as written, and with each of its profiles. */
const variants: { label: string; config: SkaffoldConfig }[] = configs.flatMap((config) => [
  { label: `${config.metadata?.name}`, config },
  ...(config.profiles ?? []).map((p) => ({
    label: `${config.metadata?.name} -p ${p.name}`,
    config: withProfile(config, p.name),
  })),
]);

function imagesIn(overlay: string): string[] {
  return findAll(render(overlay), 'Deployment')
    .concat(findAll(render(overlay), 'Job'))
    .flatMap((d) => {
      const spec = (
        d.spec as {
          template: {
            spec: { containers: { image: string }[]; initContainers?: { image: string }[] };
          };
        }
      ).template.spec;
      return [...spec.containers, ...(spec.initContainers ?? [])].map((c) => c.image);
    });
}

function builtImages(): Set<string> {
  return new Set(
    variants.flatMap(({ config }) => (config.build?.artifacts ?? []).map((a) => a.image)),
  );
}

describe('skaffold.yaml', () => {
  it('is a multi-config file with a producer and a caller config, both skaffold/v4beta14', () => {
    const names = configs.map((c) => c.metadata?.name);
    expect(names).toEqual(expect.arrayContaining([...twoClusterConfigs]));
    for (const config of configs) {
      expect(config.apiVersion).toBe('skaffold/v4beta14');
      expect(config.kind).toBe('Config');
    }
    expect(new Set(names).size).toBe(names.length);
  });

  it('validates against the Skaffold v4beta14 JSON schema, also with every profile applied', () => {
    for (const { label, config } of variants) expect(schemaErrors(config), label).toEqual([]);
  });

  it('schema validation catches a misspelt field (the check is not a no-op)', () => {
    const broken = structuredClone(configNamed(configs, 'caller')) as Record<string, unknown>;
    (broken.deploy as Record<string, unknown>).kubeContex = 'typo';
    expect(schemaErrors(broken).length).toBeGreaterThan(0);
  });

  it('deploys producer and caller to two different kube-contexts by default', () => {
    const producer = configNamed(configs, 'producer');
    const caller = configNamed(configs, 'caller');
    expect(producer.deploy?.kubeContext).toBe('producer-cluster');
    expect(caller.deploy?.kubeContext).toBe('caller-cluster');
    expect(producer.manifests?.kustomize?.paths).toEqual(['k8s/overlays/producer-cluster']);
    expect(caller.manifests?.kustomize?.paths).toEqual(['k8s/overlays/caller-cluster']);
  });

  it('defines dev, single-cluster and single-cluster-dev in both app configs, so -p switches both', () => {
    for (const name of twoClusterConfigs) {
      const profileNames = (configNamed(configs, name).profiles ?? []).map((p) => p.name);
      expect(profileNames).toEqual(expect.arrayContaining([...sharedProfiles]));
    }
  });

  it('single-cluster profiles deploy one overlay holding both apps to the current context', () => {
    for (const profile of ['single-cluster', 'single-cluster-dev']) {
      const caller = withProfile(configNamed(configs, 'caller'), profile);
      const producer = withProfile(configNamed(configs, 'producer'), profile);
      expect(caller.deploy?.kubeContext).toBeUndefined();
      expect(caller.deploy?.kubectl).toBeDefined();
      // The producer config only builds; without a deployer nothing of it lands twice.
      expect(producer.deploy).toBeUndefined();
      expect(producer.manifests).toBeUndefined();
      const overlay = caller.manifests?.kustomize?.paths?.[0] as string;
      const ours = imagesIn(overlay).filter((image) => builtImages().has(image));
      expect(new Set(ours)).toEqual(new Set(['sample-caller', 'sample-producer']));
    }
  });

  it('dev profiles build the Dockerfile dev target and sync sources that exist', () => {
    for (const name of twoClusterConfigs) {
      for (const profile of ['dev', 'single-cluster-dev']) {
        const config = withProfile(configNamed(configs, name), profile);
        for (const artifact of config.build?.artifacts ?? []) {
          expect(artifact.docker?.target, `${name} -p ${profile}`).toBe('dev');
          const rules = artifact.sync?.manual ?? [];
          expect(rules.length).toBeGreaterThan(0);
          for (const rule of rules) {
            const fixedPart = rule.src.split('*')[0]?.replace(/\/$/, '') as string;
            expect(existsSync(fromRepo(fixedPart)), `sync src ${rule.src}`).toBe(true);
            // The dev image's WORKDIR is /repo/apps/<app>, so sources land where the watcher looks.
            expect(rule.dest).toBe('/repo');
          }
        }
      }
    }
  });

  it('points every artifact at an existing Dockerfile with the target it asks for', () => {
    for (const { label, config } of variants) {
      for (const artifact of config.build?.artifacts ?? []) {
        const context = artifact.context ?? '.';
        const dockerfile = fromRepo(context, artifact.docker?.dockerfile ?? 'Dockerfile');
        expect(existsSync(dockerfile), `${label}: ${dockerfile}`).toBe(true);
        if (artifact.docker?.target) {
          const stages = parseDockerfile(dockerfile).map((s) => s.name);
          expect(stages, `${label}: target ${artifact.docker.target}`).toContain(
            artifact.docker.target,
          );
        }
      }
    }
  });

  it('points every kustomize path at an overlay the tests render and validate', () => {
    for (const { label, config } of variants) {
      for (const path of config.manifests?.kustomize?.paths ?? []) {
        expect(existsSync(join(fromRepo(path), 'kustomization.yaml')), `${label}: ${path}`).toBe(
          true,
        );
        if (path.startsWith('k8s/overlays/'))
          expect(overlays as readonly string[], label).toContain(path);
      }
    }
  });

  it('builds every image of ours the manifests use; others are pinned third-party images', () => {
    const built = builtImages();
    for (const { label, config } of variants) {
      for (const path of config.manifests?.kustomize?.paths ?? []) {
        for (const image of imagesIn(path)) {
          // Ours are bare names Skaffold replaces (sample-caller); anything else (a collector)
          // must be pinned by a tag (not latest) or a digest; `auto` is Istio's injected proxy.
          if (built.has(image)) continue;
          expect(image, `${label}: ${path} uses ${image}, which Skaffold does not build`).toMatch(
            /^[\w./-]+(:\d+)?[\w./-]*(:(?!latest$)[\w.-]+|@sha256:[0-9a-f]{64})$|^auto$/,
          );
        }
      }
    }
    // And each image is deployed by the config that builds it (two-cluster default).
    for (const name of twoClusterConfigs) {
      const config = configNamed(configs, name);
      const deployed = new Set((config.manifests?.kustomize?.paths ?? []).flatMap(imagesIn));
      for (const artifact of config.build?.artifacts ?? [])
        expect(deployed).toContain(artifact.image);
    }
  });

  it('runs the load-test Job only on request (-p loadtest), in the caller cluster, after the apps', () => {
    const loadtest = configNamed(configs, 'loadtest');
    // Opt-in: without a profile the config builds and deploys nothing.
    expect(loadtest.build?.artifacts ?? []).toEqual([]);
    expect(loadtest.deploy).toBeUndefined();
    expect(configs.at(-1)).toBe(loadtest); // configs deploy in file order: the apps first

    const run = withProfile(loadtest, 'loadtest');
    expect(run.deploy?.kubeContext).toBe(configNamed(configs, 'caller').deploy?.kubeContext);
    const single = withProfile(loadtest, 'single-cluster-loadtest');
    expect(single.deploy?.kubeContext).toBeUndefined();
    for (const config of [run, single]) {
      expect(config.manifests?.kustomize?.paths).toEqual(['k8s/loadtest']);
      const artifacts = config.build?.artifacts ?? [];
      expect(artifacts.map((a) => a.image)).toEqual(['s2s-loadtest']);
      expect(new Set(imagesIn('k8s/loadtest'))).toEqual(new Set(['s2s-loadtest']));
    }
  });
});
