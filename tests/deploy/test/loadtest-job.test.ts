// The in-cluster load test as an Indexed Job (docs/load-testing.md, "From inside the mesh"):
// pod I is worker I of WORKERS, all pods share one run id and one t0, and each pod's command
// line, once Kubernetes has expanded its $(VAR)s, is one the CLI accepts as that worker.
import { execFileSync } from 'node:child_process';
import { parseCommandLine, type CliOptions } from '@s2s/loadtest';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { findOne, kubectl, parseYamlObjects, render, type K8sObject } from './support/kustomize.js';
import { validateObject } from './support/models.js';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string };
  };
}
interface Container {
  name: string;
  args?: string[];
  env?: EnvVar[];
}
interface JobSpec {
  completionMode?: string;
  completions?: number;
  parallelism?: number;
  backoffLimit?: number;
  backoffLimitPerIndex?: number;
  activeDeadlineSeconds?: number;
  template: { spec: { containers: Container[]; restartPolicy?: string } };
}

const JOB_UID = '3f1c2a4e-8b7d-4c1a-9e2f-0a1b2c3d4e5f';

function loadtestContainer(job: K8sObject): Container {
  const container = (job.spec as JobSpec).template.spec.containers.find(
    (c) => c.name === 'loadtest',
  );
  if (!container) throw new Error('no loadtest container');
  return container;
}

/**
 * What the kubelet does with a container's args: $(NAME) becomes the value of env NAME (plain
 * values, and the downward-API ones given here), $$ an escaped $; an unknown name is left as it is.
 */
function expandArgs(container: Container, downward: Record<string, string>): string[] {
  const values = new Map<string, string>();
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) values.set(variable.name, variable.value);
  }
  for (const [name, value] of Object.entries(downward)) values.set(name, value);
  return (container.args ?? []).map((arg) =>
    arg.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name?: string) =>
      whole === '$$' ? '$' : name !== undefined && values.has(name) ? values.get(name)! : whole,
    ),
  );
}

/** The pod of index `index`: its args expanded as the kubelet would, parsed by the CLI. */
function workerOptions(job: K8sObject, index: number): CliOptions {
  const container = loadtestContainer(job);
  const downward: Record<string, string> = {
    // Set by the Job controller in every pod of an Indexed Job.
    JOB_COMPLETION_INDEX: String(index),
  };
  // Downward-API values: what the kubelet reads from the pod.
  for (const variable of container.env ?? []) {
    const path = variable.valueFrom?.fieldRef?.fieldPath;
    if (path === "metadata.labels['batch.kubernetes.io/controller-uid']")
      downward[variable.name] = JOB_UID;
  }
  const parsed = parseCommandLine(expandArgs(container, downward));
  if (parsed.command !== 'run') throw new Error(`pod ${index}: not a run`);
  return parsed.options;
}

const job = findOne(render('k8s/loadtest'), 'Job', 's2s-loadtest');
const spec = job.spec as JobSpec;
const env = (name: string): EnvVar | undefined =>
  loadtestContainer(job).env?.find((e) => e.name === name);

describe('k8s/loadtest: the load test as an Indexed Job', () => {
  it('validates against the Job schema', async () => {
    await validateObject(job);
  });

  it('runs WORKERS pods at once, one per index, none retried, the others not stopped by one failure', () => {
    const workers = Number(env('WORKERS')?.value);
    expect(workers).toBeGreaterThanOrEqual(2);
    expect(spec.completionMode).toBe('Indexed');
    expect(spec.completions).toBe(workers);
    expect(spec.parallelism).toBe(workers);
    // Per index: a failed worker (its SLO broken) leaves the others running to the end;
    // backoffLimit: 0 would fail the Job at the first failure and kill their pods.
    expect(spec.backoffLimitPerIndex).toBe(0);
    expect(spec.backoffLimit).toBeUndefined();
    expect(spec.template.spec.restartPolicy).toBe('Never');
    expect(spec.activeDeadlineSeconds).toBeGreaterThan(0);
  });

  it("gives each pod its index's slice of one schedule: same rate, run id and t0, its own --worker", () => {
    const workers = spec.completions!;
    const pods = Array.from({ length: workers }, (_, index) => workerOptions(job, index));
    expect(pods.map((p) => p.worker)).toEqual(
      Array.from({ length: workers }, (_, index) => ({ index, count: workers })),
    );
    for (const pod of pods) {
      // The whole run's rate: each worker sends rate / count of it.
      expect(pod.rate).toBe(Number(env('RATE')?.value));
      expect(pod.runId).toBe(JOB_UID);
      expect(pod.resultFile).toBe('-');
      // The report's JSON would share stdout with the result line.
      expect(pod.jsonFile).toBeUndefined();
      expect(pod.workers).toBeUndefined();
      expect(pod.url.href).toBe(env('TARGET_URL')?.value);
      expect(pod.slo?.length).toBeGreaterThan(0);
    }
    // START_AT's default, "now": each pod starts on its own.
    expect(env('START_AT')?.value).toBe('now');
    expect(pods.every((p) => p.startAt === undefined)).toBe(true);
  });

  it('leaves no $(VAR) in the args that Kubernetes would not expand', () => {
    const container = loadtestContainer(job);
    const names = new Set([...(container.env ?? []).map((e) => e.name), 'JOB_COMPLETION_INDEX']);
    for (const arg of container.args ?? []) {
      for (const [, name] of arg.matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g))
        expect(names.has(name!), `${arg}: ${name} is not an env variable`).toBe(true);
    }
    // The shared run id is the Job's uid, read from the label the controller puts on every pod.
    expect(env('RUN_ID')?.valueFrom?.fieldRef?.fieldPath).toBe(
      "metadata.labels['batch.kubernetes.io/controller-uid']",
    );
  });

  it('takes a shared START_AT set with `kubectl set env --local` (the documented command)', () => {
    const startAt = '2027-01-15T08:00:00Z';
    const output = execFileSync(
      kubectl(),
      ['set', 'env', '--local', '-f', '-', '-c', 'loadtest', `START_AT=${startAt}`, '-o', 'yaml'],
      { input: stringify(job), encoding: 'utf8' },
    );
    const [changed] = parseYamlObjects(output, 'kubectl set env');
    expect(changed?.kind).toBe('Job');
    const spec = changed!.spec as JobSpec;
    for (let index = 0; index < spec.completions!; index += 1)
      expect(workerOptions(changed!, index).startAt).toBe(Date.UTC(2027, 0, 15, 8));
  });

  it('keeps the sidecar quit URL, the fault token from the Secret and its own identity', () => {
    expect(env('SIDECAR_QUIT_URL')?.value).toBe('http://127.0.0.1:15020/quitquitquit');
    expect(env('FAULT_INJECTION_TOKEN')?.valueFrom?.secretKeyRef).toEqual({
      name: 'sample-caller-fault-injection',
      key: 'token',
    });
    const pod = (job.spec as { template: { spec: { serviceAccountName?: string } } }).template;
    expect(pod.spec.serviceAccountName).toBe('s2s-loadtest');
  });
});
