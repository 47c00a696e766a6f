// A real Prometheus (Debian's binary, on loopback, temp config and storage) scrapes the real caller
// and producer processes with the rules of k8s/observability/monitoring/prometheus-rule.yaml as
// they are; the producer goes away, the caller's breaker opens under traffic, and the
// S2SCircuitBreakerOpen alert fires, as Prometheus's HTTP API (/api/v1/alerts) reports it. The
// dashboard's queries are run against the same Prometheus: each must parse and find data.
// Short scrape/evaluation intervals (1 s) keep it to ~45 s; the rule's `for: 30s` is used as is.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@s2s/test-support/free-port';
import { startNodeService, type StartedNodeService } from '@s2s/test-support/node-service';
import { ruleFileFromPrometheusRule } from '@s2s/test-support/promtool';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

function serverOf(app: '@s2s/caller' | '@s2s/producer'): string {
  return join(dirname(createRequire(import.meta.url).resolve(`${app}/app`)), 'server.js');
}
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const MONITORING = join(REPO, 'k8s', 'observability', 'monitoring');
/** Debian's `prometheus` package (.ci/apt-packages.txt); PROMETHEUS overrides. */
const PROMETHEUS = process.env.PROMETHEUS ?? '/usr/bin/prometheus';
const PRODUCER_HOST = 'sample-producer.istio-apps.svc.clusterset.local';
const UPSTREAM = PRODUCER_HOST;

interface Alert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function getJson<T>(url: string): Promise<T> {
  const answer = await request(url);
  const body = (await answer.body.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${url}: ${body.error ?? answer.statusCode}`);
  return body.data;
}

/** An instant query's result vector. */
async function query<T = { metric: Record<string, string>; value: [number, string] }>(
  base: string,
  expr: string,
): Promise<T[]> {
  const data = await getJson<{ result: T[] }>(
    `${base}/api/v1/query?query=${encodeURIComponent(expr)}`,
  );
  return data.result;
}

async function send(callerUrl: string): Promise<string> {
  const answer = await request(`${callerUrl}/caller/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ payload: 'alert-test' }),
  });
  return ((await answer.body.json()) as { outcome: string }).outcome;
}

describe('breaker-open alert in a real Prometheus', () => {
  const work = mkdtempSync(join(tmpdir(), 's2s-prometheus-'));
  let producer: StartedNodeService | undefined;
  let caller: StartedNodeService | undefined;
  let prometheus: ChildProcess | undefined;
  let prometheusOutput = '';
  let prometheusUrl = '';

  beforeAll(async () => {
    const env = {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: '0',
      SHUTDOWN_DELAY_MS: '0',
      LOG_LEVEL: 'info',
      CLUSTER_NAME: 'cluster-test',
      CLUSTER_LOCATION: 'local',
      POD_IP: '127.0.0.1',
      APP_VERSION: 'v-alert-test',
    };
    producer = await startNodeService({
      args: [serverOf('@s2s/producer')],
      env: { ...env, POD_NAME: 'sample-producer-test' },
    });
    caller = await startNodeService({
      args: [serverOf('@s2s/caller')],
      env: {
        ...env,
        POD_NAME: 'sample-caller-test',
        PRODUCER_CONNECT_TO: `${PRODUCER_HOST}:8080:127.0.0.1:${new URL(producer.url).port}`,
        PRODUCER_TIMEOUT_MS: '500',
        BREAKER_RESET_MS: '3000',
      },
    });

    writeFileSync(
      join(work, 'rules.yaml'),
      ruleFileFromPrometheusRule(readFileSync(join(MONITORING, 'prometheus-rule.yaml'), 'utf8')),
    );
    const target = (url: string) => new URL(url).host;
    writeFileSync(
      join(work, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 900ms',
        '  evaluation_interval: 1s',
        'rule_files: [rules.yaml]',
        'scrape_configs:',
        '  - job_name: caller',
        `    static_configs: [{ targets: ['${target(caller.url)}'] }]`,
        '  - job_name: producer',
        `    static_configs: [{ targets: ['${target(producer.url)}'] }]`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      PROMETHEUS,
      [
        `--config.file=${join(work, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(work, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout?.on('data', (chunk: Buffer) => (prometheusOutput += chunk.toString()));
    prometheus.stderr?.on('data', (chunk: Buffer) => (prometheusOutput += chunk.toString()));
    const spawned = await Promise.race([
      once(prometheus, 'spawn').then(() => true),
      once(prometheus, 'error').then(([error]) => {
        throw new Error(
          `cannot start ${PROMETHEUS} (Debian's "prometheus" package, .ci/apt-packages.txt): ${String(error)}`,
        );
      }),
    ]);
    expect(spawned).toBe(true);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ready = await request(`${prometheusUrl}/-/ready`).then(
        async (answer) => {
          await answer.body.dump();
          return answer.statusCode === 200;
        },
        () => false,
      );
      if (ready) break;
      if (Date.now() > deadline || prometheus.exitCode !== null) {
        throw new Error(`Prometheus did not become ready:\n${prometheusOutput}`);
      }
      await sleep(200);
    }
  }, 60_000);

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      prometheus.kill('SIGTERM');
      await once(prometheus, 'exit');
    }
    await caller?.stop();
    await producer?.stop();
    rmSync(work, { recursive: true, force: true });
  }, 30_000);

  it('scrapes both apps and answers every dashboard query', async () => {
    for (let i = 0; i < 5; i++) expect(await send(caller!.url)).toBe('ok');
    // Both targets up and a few scrapes in, so rate() over 1 m has two points or more.
    const deadline = Date.now() + 20_000;
    let up: Array<{ metric: Record<string, string> }> = [];
    while (Date.now() < deadline) {
      up = await query(prometheusUrl, 'up == 1');
      if (up.length === 2) break;
      await sleep(500);
    }
    expect(up.map((sample) => sample.metric.job).sort()).toEqual(['caller', 'producer']);
    await sleep(3_000);

    const dashboard = JSON.parse(readFileSync(join(MONITORING, 'dashboard.json'), 'utf8')) as {
      panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
    };
    // Series that exist only once something happened (a recording rule over an idle hour's
    // window, 499s, upstream errors, transitions) may be empty here; every query must parse.
    const mayBeEmpty = /s2s:|499|upstream_error|transitions/;
    for (const panel of dashboard.panels) {
      for (const target of panel.targets ?? []) {
        const expr = target.expr.replaceAll('$__rate_interval', '1m');
        const result = await query(prometheusUrl, expr);
        if (!mayBeEmpty.test(expr))
          expect(result.length, `${panel.title}: ${expr}`).toBeGreaterThan(0);
      }
    }
  });

  it('fires S2SCircuitBreakerOpen while the producer is gone', async () => {
    const stoppedAt = Date.now();
    await producer!.stop();
    // Traffic at ~10 calls/s, bounded to 90 s: the breaker opens after 3 failures in a row and
    // stays open or half-open (each trial after BREAKER_RESET_MS fails again).
    const outcomes = new Map<string, number>();
    let firing: Alert | undefined;
    let sawPending = false;
    const deadline = stoppedAt + 90_000;
    while (Date.now() < deadline && firing === undefined) {
      for (let i = 0; i < 5; i++) {
        const outcome = await send(caller!.url);
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        await sleep(100);
      }
      const { alerts } = await getJson<{ alerts: Alert[] }>(`${prometheusUrl}/api/v1/alerts`);
      const ours = alerts.filter((alert) => alert.labels.alertname === 'S2SCircuitBreakerOpen');
      if (ours.some((alert) => alert.state === 'pending')) sawPending = true;
      firing = ours.find((alert) => alert.state === 'firing');
    }
    expect(firing, `no firing alert; outcomes ${JSON.stringify([...outcomes])}`).toBeDefined();
    expect(firing!.labels).toMatchObject({ upstream: UPSTREAM, severity: 'page' });
    expect(sawPending).toBe(true);
    // It became active after the producer went, and fired only after its `for: 30s`.
    const activeAt = Date.parse(firing!.activeAt);
    expect(activeAt).toBeGreaterThanOrEqual(stoppedAt - 1_000);
    expect(Date.now() - activeAt).toBeGreaterThanOrEqual(30_000);
    expect(outcomes.get('unreachable')).toBeGreaterThan(0);
    expect(outcomes.get('circuit_open')).toBeGreaterThan(0);
    expect(outcomes.get('ok') ?? 0).toBe(0);
  }, 120_000);
});
