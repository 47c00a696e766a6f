/**
 * The endpoints controller without root: the exporter against real local HTTP servers (its
 * probes) reporting to a real control socket, the importer with its ruleset writes recorded
 * instead of sent to nft.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { serveControl } from '../src/control-channel.js';
import { McsExporter, McsImporter } from '../src/endpoints-controller.js';
import type {
  ClusterReport,
  McsExporterOptions,
  ReportedEndpoint,
} from '../src/endpoints-controller.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function pod(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((request, response) => {
    response.writeHead(request.url === '/readyz' ? 200 : 404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  cleanups.push(close);
  return { port: (server.address() as AddressInfo).port, close };
}

/** A pod as a process of its own (its container), so it can crash: a Node server answering probes. */
async function podProcess(port = 0): Promise<{ port: number; pid: number; kill: () => void }> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `require('node:http').createServer((q, s) => s.writeHead(q.url === '/readyz' ? 200 : 404).end())
        .listen(${port}, '127.0.0.1', function () { console.log(this.address().port); });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const kill = () => {
    child.kill('SIGKILL');
  };
  cleanups.push(kill);
  const bound = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once('exit', (code) =>
      reject(new Error(`pod process exited (${code}) before listening`)),
    );
  });
  return { port: bound, pid: child.pid!, kill };
}

async function importerSocket(): Promise<{
  socket: string;
  reports: Array<{ at: number; report: ClusterReport }>;
}> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcs-'));
  const socket = path.join(dir, 'importer.sock');
  const reports: Array<{ at: number; report: ClusterReport }> = [];
  const server = await serveControl(socket, (action, body) => {
    if (action === 'report') reports.push({ at: Date.now(), report: body as ClusterReport });
    return { ok: true };
  });
  cleanups.push(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { socket, reports };
}

async function until<T>(what: string, check: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = check();
    if (value !== undefined) return value;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const endpoint = (report: ClusterReport, name: string) =>
  report.endpoints.find((e) => e.name === name) as ReportedEndpoint;

/**
 * cluster-2's exporter of producer-a and producer-b (on these ports), started, with their
 * processes' pids when given; resolves once it has reported both ready.
 */
async function exporterOfTwo(
  ports: [number, number],
  settings: Pick<McsExporterOptions, 'probe' | 'heartbeatMs' | 'relistMs'> & {
    pids?: [number, number];
  },
): Promise<{ exporter: McsExporter; reports: Array<{ at: number; report: ClusterReport }> }> {
  const { socket, reports } = await importerSocket();
  const { pids, ...options } = settings;
  const names = ['producer-a', 'producer-b'] as const;
  const exporter = new McsExporter({
    cluster: 'cluster-2',
    pods: names.map((name, index) => ({ name, host: '127.0.0.1', port: ports[index]! })),
    importerSocket: socket,
    ...options,
  });
  exporter.start();
  cleanups.push(() => exporter.close());
  if (pids) names.forEach((name, index) => exporter.running(name, pids[index]!));
  await until('both ready', () => {
    const last = reports.at(-1)?.report;
    return last && names.every((name) => endpoint(last, name).ready) ? true : undefined;
  });
  return { exporter, reports };
}

describe('McsExporter', () => {
  it('reports pods ready after their probes pass, not ready after failureThreshold failed probes, and a terminating pod at once', async () => {
    const a = await pod();
    const b = await pod();
    const { exporter, reports } = await exporterOfTwo([a.port, b.port], {
      probe: { periodMs: 100, timeoutMs: 200, failureThreshold: 3, successThreshold: 1 },
      heartbeatMs: 100,
    });

    await b.close();
    const closedAt = Date.now();
    const notReady = await until('producer-b not ready', () =>
      reports.find((r) => r.at > closedAt && !endpoint(r.report, 'producer-b').ready),
    );
    // Three failed probes 100 ms apart: not before the third.
    expect(notReady.at - closedAt).toBeGreaterThanOrEqual(150);

    const terminatingAt = Date.now();
    exporter.terminating('producer-a');
    // At once, not at the next probe: the state has changed before this line runs on.
    expect(exporter.status().endpoints.find((e) => e.name === 'producer-a')).toMatchObject({
      ready: false,
      terminating: true,
    });
    const withdrawn = await until('producer-a terminating', () =>
      reports.find((r) => r.at >= terminatingAt && endpoint(r.report, 'producer-a').terminating),
    );
    expect(endpoint(withdrawn.report, 'producer-a').ready).toBe(false);
  });

  it("withdraws a pod whose process exits at the next relist, without waiting for its readiness probe's failures", async () => {
    const a = await podProcess();
    const b = await podProcess();
    const { exporter, reports } = await exporterOfTwo([a.port, b.port], {
      // Probes alone would need 3 periods of a minute to notice a crash.
      probe: { periodMs: 60_000, timeoutMs: 200, failureThreshold: 3, successThreshold: 1 },
      heartbeatMs: 60_000,
      relistMs: 100,
      pids: [a.pid, b.pid],
    });

    const killedAt = Date.now();
    a.kill();
    const notReady = await until('producer-a not ready', () =>
      reports.find((r) => r.at > killedAt && !endpoint(r.report, 'producer-a').ready),
    );
    // One relist (100 ms) and the report, with room for a busy machine; never a probe period.
    expect(notReady.at - killedAt).toBeLessThan(2000);
    expect(endpoint(notReady.report, 'producer-a').terminating).toBe(false);
    expect(endpoint(notReady.report, 'producer-b').ready).toBe(true);

    // A new process under the name (on the pod's address) is probed until ready and watched again.
    const generation = endpoint(notReady.report, 'producer-a').generation;
    exporter.started('producer-a');
    const next = await podProcess(a.port);
    exporter.running('producer-a', next.pid);
    await until('producer-a ready again', () => {
      const last = reports.at(-1)?.report;
      return last && endpoint(last, 'producer-a').ready ? true : undefined;
    });
    expect(endpoint(reports.at(-1)!.report, 'producer-a').generation).toBe(generation + 1);
    const killedAgainAt = Date.now();
    next.kill();
    await until('producer-a not ready again', () =>
      reports.find((r) => r.at > killedAgainAt && !endpoint(r.report, 'producer-a').ready),
    );
  });

  it('stops reporting when told (its lease then runs out in cluster-1) and reports again on resume', async () => {
    const a = await pod();
    const { socket, reports } = await importerSocket();
    const exporter = new McsExporter({
      cluster: 'cluster-3',
      pods: [{ name: 'producer-c', host: '127.0.0.1', port: a.port }],
      probe: { periodMs: 100, timeoutMs: 200, failureThreshold: 2, successThreshold: 1 },
      heartbeatMs: 50,
      importerSocket: socket,
    });
    exporter.start();
    cleanups.push(() => exporter.close());
    await until('a report', () => (reports.length > 2 ? true : undefined));
    exporter.setReporting(false);
    await sleep(100); // a report already on its way may still land
    const count = reports.length;
    await sleep(400);
    expect(reports.length).toBe(count);
    exporter.setReporting(true);
    await until('reports again', () => (reports.length > count ? true : undefined));
  });
});

describe('McsImporter', () => {
  const ready = (
    name: string,
    host: string,
    extra: Partial<ReportedEndpoint> = {},
  ): ReportedEndpoint => ({
    name,
    host,
    port: 8080,
    ready: true,
    terminating: false,
    generation: 1,
    ...extra,
  });

  function importer(settings: { propagationDelayMs: number; leaseMs: number }) {
    const writes: Array<{ at: number; script: string }> = [];
    const instance = new McsImporter(
      {
        clusterSetIp: '198.18.3.10',
        port: 8080,
        clusters: ['cluster-2', 'cluster-3'],
        ...settings,
      },
      (script) => {
        writes.push({ at: Date.now(), script });
        return Promise.resolve();
      },
    );
    cleanups.push(() => instance.close());
    return { instance, writes };
  }

  it('starts with no endpoints (connects refused), applies a report only after the propagation delay', async () => {
    const { instance, writes } = importer({ propagationDelayMs: 300, leaseMs: 5000 });
    await instance.start();
    expect(writes.at(-1)!.script).toContain('tcp dport 8080 reject');
    const sentAt = Date.now();
    instance.receive({
      cluster: 'cluster-2',
      endpoints: [
        ready('producer-a', '198.18.6.11'),
        ready('producer-b', '198.18.6.12', { ready: false }),
      ],
    });
    await sleep(150);
    expect(instance.status().active).toEqual([]);
    const applied = await until('applied', () => writes.find((w) => w.script.includes('dnat')));
    expect(applied.at - sentAt).toBeGreaterThanOrEqual(290);
    // Only ready endpoints are served.
    expect(applied.script).toContain('numgen random mod 1 map { 0 : 198.18.6.11 }');
  });

  it("keeps a cluster's endpoints until its lease runs out, then drops only that cluster's", async () => {
    const { instance } = importer({ propagationDelayMs: 0, leaseMs: 400 });
    await instance.start();
    instance.receive({ cluster: 'cluster-2', endpoints: [ready('producer-a', '198.18.6.11')] });
    instance.receive({ cluster: 'cluster-3', endpoints: [ready('producer-c', '198.18.9.11')] });
    await until('both', () => (instance.status().active.length === 2 ? true : undefined));
    // cluster-3 keeps renewing, cluster-2 goes silent.
    const silentFrom = Date.now();
    const renew = setInterval(
      () =>
        instance.receive({ cluster: 'cluster-3', endpoints: [ready('producer-c', '198.18.9.11')] }),
      100,
    );
    cleanups.push(() => clearInterval(renew));
    await sleep(250);
    expect(instance.status().active).toEqual(['198.18.6.11', '198.18.9.11']);
    await until('cluster-2 expired', () =>
      instance.status().active.length === 1 ? true : undefined,
    );
    // The lease runs from the last report applied before silentFrom (at most one poll earlier).
    expect(Date.now() - silentFrom).toBeGreaterThanOrEqual(350);
    expect(instance.status().active).toEqual(['198.18.9.11']);
    expect(instance.status().clusters.find((c) => c.cluster === 'cluster-2')?.expired).toBe(true);
    expect(instance.status().changes.at(-1)?.reason).toBe('lease of cluster-2 expired');
  });

  it('refuses settings out of range, naming them', () => {
    const { instance } = importer({ propagationDelayMs: 0, leaseMs: 1000 });
    expect(() => instance.configure({ leaseMs: -1 })).toThrow(/leaseMs/);
    expect(instance.configure({ propagationDelayMs: 2000 })).toEqual({
      propagationDelayMs: 2000,
      leaseMs: 1000,
    });
  });
});
