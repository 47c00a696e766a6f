// Typed access to the parts of rendered Deployments, Services and Istio objects the
// consistency tests compare.
import { findOne, type K8sObject } from './kustomize.js';

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
  };
}
export interface Probe {
  httpGet?: { path: string; port: number | string };
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
  initialDelaySeconds?: number;
}
export interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[] } };
  volumeMounts?: { name: string; mountPath: string }[];
}
export interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    serviceAccountName?: string;
    terminationGracePeriodSeconds?: number;
    securityContext?: Record<string, unknown>;
    containers: Container[];
    volumes?: { name: string; emptyDir?: unknown }[];
  };
}
export interface DeploymentSpec {
  replicas?: number;
  selector: { matchLabels: Record<string, string> };
  template: PodTemplate;
}

export const deploymentOf = (
  objects: K8sObject[],
  app: string,
): K8sObject & { spec: DeploymentSpec } =>
  objects.find(
    (o) =>
      o.kind === 'Deployment' && (o.spec as DeploymentSpec).template.metadata.labels['app'] === app,
  ) as K8sObject & { spec: DeploymentSpec };

export const containerOf = (objects: K8sObject[], app: string): Container => {
  const deployment = deploymentOf(objects, app);
  if (!deployment) throw new Error(`no Deployment with pod label app=${app}`);
  const container = deployment.spec.template.spec.containers[0];
  if (!container) throw new Error(`Deployment ${deployment.metadata.name} has no container`);
  return container;
};

export function envValue(container: Container, name: string): string {
  const entry = container.env?.find((e) => e.name === name);
  if (entry?.value === undefined) throw new Error(`${container.name} sets no literal ${name}`);
  return entry.value;
}

export function service(
  objects: K8sObject[],
  name: string,
): K8sObject & {
  spec: {
    selector: Record<string, string>;
    ports: { name: string; port: number; targetPort: number | string }[];
  };
} {
  return findOne(objects, 'Service', name) as never;
}

/** Istio/Kubernetes durations such as "5s", "1.5s", "300ms", "1m" in milliseconds. */
export function durationMs(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value);
  if (!match) throw new Error(`not a duration: ${value}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(match[1]) * unit;
}

export const labelsMatch = (
  selector: Record<string, string>,
  labels: Record<string, string>,
): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);
