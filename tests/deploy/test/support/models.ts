// Validates rendered objects against the schemas shipped by kubernetes-models (Kubernetes),
// @kubernetes-models/istio (Istio CRDs) and @kubernetes-models/gke (GKE CRDs such as
// ServiceExport). An object whose apiVersion/kind has no model is an error, not a pass.
import type { K8sObject } from './kustomize.js';

interface Model {
  validate(): void;
}
type ModelClass = new (data: unknown) => Model;

function modulePathFor(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  if (slash === -1) return `kubernetes-models/${apiVersion}`; // core group: v1
  const group = apiVersion.slice(0, slash);
  if (group.endsWith('.istio.io')) return `@kubernetes-models/istio/${apiVersion}`;
  if (group.endsWith('.gke.io')) return `@kubernetes-models/gke/${apiVersion}`;
  if (!group.includes('.') || group.endsWith('.k8s.io')) return `kubernetes-models/${apiVersion}`;
  throw new Error(
    `no schema model for apiVersion ${apiVersion}: add the @kubernetes-models package that covers it to tests/deploy`,
  );
}

export async function modelFor(
  object: Pick<K8sObject, 'apiVersion' | 'kind'>,
): Promise<ModelClass> {
  const path = modulePathFor(object.apiVersion);
  let module: Record<string, unknown>;
  try {
    module = (await import(path)) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`no schema model module ${path} for ${object.apiVersion} ${object.kind}`, {
      cause: error,
    });
  }
  const model = module[object.kind];
  if (typeof model !== 'function') {
    throw new Error(`${path} has no model for kind ${object.kind}`);
  }
  return model as ModelClass;
}

/** Throws a message naming the object and the schema violations when it does not validate. */
export async function validateObject(object: K8sObject): Promise<void> {
  const Model = await modelFor(object);
  try {
    new Model(object).validate();
  } catch (error) {
    const details = (error as { errors?: unknown }).errors;
    throw new Error(
      `${object.apiVersion} ${object.kind} ${object.metadata.name} is invalid: ${(error as Error).message}` +
        (details ? ` ${JSON.stringify(details)}` : ''),
      { cause: error },
    );
  }
}
