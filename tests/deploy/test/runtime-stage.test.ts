// The runtime image without Docker: run the Dockerfile's own build and `pnpm … --prod deploy`
// commands (same flags), start each app from the deploy folder alone — outside the workspace,
// so nothing resolves through the monorepo's node_modules — with the env its manifest sets,
// and call it. This catches what breaks pnpm-monorepo images: a dependency declared only at
// the workspace root, a workspace package whose "files" miss its dist, a UI folder not shipped.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  unlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { freePort } from '@s2s/test-support/free-port';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCommand, deployCommand, parseDockerfile, stage } from './support/dockerfile.js';
import { render } from './support/kustomize.js';
import { apps, fromRepo, repoRoot, type AppName } from './support/paths.js';
import { startApp, type RunningApp } from './support/processes.js';
import { containerOf, type Container } from './support/workloads.js';
import { readPackageJson } from './support/workspace.js';

const PNPM_LOCK = '/tmp/s2s-pnpm.lock';
const CLUSTERSET_HOST = 'sample-producer.istio-apps.svc.clusterset.local';
const manifests = render('k8s/overlays/single-cluster');
const callerCluster = render('k8s/overlays/caller-cluster');

/** pnpm, serialised with other pnpm runs on this machine when the workplace lock exists. */
function pnpm(args: string[]): void {
  const command = existsSync('/usr/bin/flock')
    ? ['/usr/bin/flock', PNPM_LOCK, 'pnpm', ...args]
    : ['pnpm', ...args];
  try {
    execFileSync(command[0] as string, command.slice(1), {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CI: 'true' },
      maxBuffer: 64 * 1024 * 1024,
      // Bounded: a held lock or a stuck pnpm fails the test instead of hanging it.
      timeout: 240_000,
    });
  } catch (error) {
    // pnpm prints its ERR_PNPM_… reason on stdout: show it, not only "Command failed".
    const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer };
    const output = `${stdout?.toString() ?? ''}${stderr?.toString() ?? ''}`.trim();
    throw new Error(`pnpm ${args.join(' ')} failed:\n${output.split('\n').slice(-20).join('\n')}`, {
      cause: error,
    });
  }
}

/** The manifest's literal env for the app, with downward-API values a pod would get. */
function manifestEnv(container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  const podFields: Record<string, string> = {
    'metadata.name': `${container.name}-v1-test`,
    'metadata.namespace': 'istio-apps',
    'status.podIP': '127.0.0.1',
    'status.hostIP': '127.0.0.1',
    'spec.nodeName': 'deploy-test-node',
    'spec.serviceAccountName': `${container.name}-sa`,
  };
  for (const entry of container.env ?? []) {
    const field = entry.valueFrom?.fieldRef?.fieldPath;
    if (entry.value !== undefined) env[entry.name] = entry.value;
    else if (field !== undefined && field in podFields)
      env[entry.name] = podFields[field] as string;
    else if (field?.startsWith('metadata.labels')) env[entry.name] = 'v1';
    // A Secret the operator creates (the fault-injection token): any value stands in for it.
    else if (entry.valueFrom?.secretKeyRef !== undefined) env[entry.name] = 'deploy-test-secret';
    else throw new Error(`${container.name}: no test value for env ${entry.name}`);
  }
  // No exporter endpoints: a collector's in-cluster name would send spans off this machine.
  for (const name of Object.keys(env)) if (name.startsWith('OTEL_EXPORTER_')) delete env[name];
  return env;
}

function baseEnv(app: AppName, extra: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '',
    ...manifestEnv(containerOf(manifests, `sample-${app}`)),
    // Every identity value set: the app never asks the GKE metadata server (no traffic off loopback).
    CLUSTER_NAME: 'deploy-test',
    CLUSTER_LOCATION: 'local',
    PORT: '0',
    HOST: '127.0.0.1',
    SHUTDOWN_DELAY_MS: '0',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

async function get(url: string): Promise<Response> {
  return fetch(url, { signal: AbortSignal.timeout(10_000) });
}

const deployDirs = new Map<AppName, string>();
const escapingLinks = new Map<AppName, string[]>();

/**
 * Deletes symlinks below `dir/node_modules` whose target lies outside `dir` — in the runtime
 * image they would point into the build stage's /repo, which is not there — and lists them
 * as `link -> target` relative to the deploy folder and the repository.
 */
function removeLinksOutOf(dir: string): string[] {
  const root = realpathSync(dir);
  const removed: string[] = [];
  const walk = (path: string, depth: number): void => {
    for (const name of readdirSync(path)) {
      const child = join(path, name);
      const stat = lstatSync(child);
      if (stat.isSymbolicLink()) {
        const target = existsSync(child) ? realpathSync(child) : '(dangling)';
        if (!target.startsWith(root)) {
          removed.push(`${relative(root, child)} -> ${relative(repoRoot, target)}`);
          unlinkSync(child);
        }
      } else if (depth < 4 && stat.isDirectory()) walk(child, depth + 1);
    }
  };
  walk(join(root, 'node_modules'), 0);
  return removed.sort();
}
const running: RunningApp[] = [];

beforeAll(() => {
  const missing = apps.filter((app) => !existsSync(fromRepo('apps', app, 'src', 'server.ts')));
  if (missing.length > 0) throw new Error(`apps without src/server.ts: ${missing.join(', ')}`);
  for (const app of apps) {
    // Exactly the Dockerfile's commands, minus its store mount and with a temp folder as target.
    const build = buildCommand(app);
    pnpm(build.slice(1));
    const words = deployCommand(app).slice(1, -1);
    const storeDir = words.indexOf('--store-dir');
    if (storeDir !== -1) words.splice(storeDir, 2);
    const target = mkdtempSync(join(tmpdir(), `s2s-deploy-${app}-`));
    rmSync(target, { recursive: true });
    pnpm([...words, target]);
    deployDirs.set(app, target);
    escapingLinks.set(app, removeLinksOutOf(target));
  }
});

afterAll(async () => {
  const codes = await Promise.allSettled(running.map((r) => r.stop()));
  for (const dir of deployDirs.values()) rmSync(dir, { recursive: true, force: true });
  for (const result of codes) if (result.status === 'rejected') throw result.reason;
});

describe.each(apps)('pnpm deploy of @s2s/%s (the runtime stage)', (app) => {
  it('holds the start script entry', () => {
    const dir = deployDirs.get(app) as string;
    const start = readPackageJson(dir).scripts?.['start'] ?? '';
    const entry = start.split(/\s+/).find((w) => w.endsWith('.js'));
    expect(entry, 'start script names a .js entry').toBeDefined();
    expect(existsSync(join(dir, entry as string))).toBe(true);
  });

  it('has no link out of the deploy folder (the lockfile-based deploy copies the workspace packages in)', () => {
    // In the image such a link would dangle: /repo is not in the runtime stage. (The legacy
    // deploy left node_modules/.pnpm/node_modules/@s2s/<app> pointing back at the workspace.)
    expect(escapingLinks.get(app)).toEqual([]);
  });
});

describe('the deployed apps, started alone like the image (Dockerfile CMD) with their manifest env', () => {
  let producer: RunningApp;
  let caller: RunningApp;
  // PROBE_PORT of each app: the manifests' fixed port would collide on one machine.
  const probePorts = new Map<AppName, number>();

  beforeAll(async () => {
    // Started the way the image starts them: the Dockerfile's CMD, from the deploy folder.
    const startOf = (app: AppName) => {
      const runtime = stage(parseDockerfile(fromRepo('apps', app, 'Dockerfile')), 'runtime');
      return runtime.instructions.filter((i) => i.keyword === 'CMD').at(-1)?.json ?? [];
    };
    for (const app of apps) probePorts.set(app, await freePort());
    producer = await startApp({
      command: startOf('producer'),
      cwd: deployDirs.get('producer') as string,
      env: baseEnv('producer', { PROBE_PORT: String(probePorts.get('producer')) }),
    });
    running.push(producer);
    const producerPort = new URL(producer.url).port;
    // The caller keeps addressing the producer by the clusterset name of its manifest;
    // PRODUCER_CONNECT_TO only changes where the socket goes (curl --connect-to semantics).
    const callerEnv = baseEnv('caller', {
      PRODUCER_URL: `http://${CLUSTERSET_HOST}:8080`,
      PRODUCER_CONNECT_TO: `${CLUSTERSET_HOST}:8080:127.0.0.1:${producerPort}`,
      PROBE_PORT: String(probePorts.get('caller')),
    });
    expect(
      new URL(manifestEnv(containerOf(callerCluster, 'sample-caller'))['PRODUCER_URL'] as string)
        .hostname,
    ).toBe(CLUSTERSET_HOST);
    caller = await startApp({
      command: startOf('caller'),
      cwd: deployDirs.get('caller') as string,
      env: callerEnv,
    });
    running.push(caller);
  });

  it.each(apps)(
    '%s answers its manifest probe paths with 200 on the port each probe names',
    async (app) => {
      const container = containerOf(manifests, `sample-${app}`);
      const target = app === 'caller' ? caller : producer;
      for (const probe of [
        container.startupProbe,
        container.livenessProbe,
        container.readinessProbe,
      ]) {
        // On the port the probe names: the probe listener for `probes`, as the kubelet does.
        const origin =
          probe?.httpGet?.port === 'probes'
            ? `http://127.0.0.1:${probePorts.get(app)}`
            : target.url;
        const response = await get(`${origin}${probe?.httpGet?.path}`);
        expect(response.status, `${app} ${probe?.httpGet?.path} on ${origin}`).toBe(200);
      }
    },
  );

  it('the caller serves its UI from the deployed package', async () => {
    const response = await get(`${caller.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
  });

  it('one real call goes caller → producer by the clusterset name', async () => {
    const response = await fetch(`${caller.url}/caller/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'deploy-smoke', payload: 'hello from the deploy folder' }),
      signal: AbortSignal.timeout(15_000),
    });
    const envelope = (await response.json()) as {
      outcome: string;
      statusCode: number;
      received: unknown;
      producerMetadata: unknown;
      breaker: { state: string };
    };
    expect(response.status, JSON.stringify(envelope)).toBe(200);
    expect(envelope.outcome).toBe('ok');
    expect(envelope.statusCode).toBe(200);
    expect(envelope.received).toBe('hello from the deploy folder');
    expect(envelope.producerMetadata).toBeTruthy();
    expect(envelope.breaker.state).toBe('closed');
  });

  it.each(apps)('%s exits 0 on SIGTERM', async (app) => {
    const target = app === 'caller' ? caller : producer;
    expect(await target.stop()).toBe(0);
  });
});
