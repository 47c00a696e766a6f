/// <reference lib="dom" />
// The live traffic view through the simulation's ingress gateway while cluster-1 is cut off from
// every producer cluster, and the breaker-open alert firing in a real Prometheus that runs in
// cluster-1 (its network namespace) with the rules of k8s/observability/monitoring as they are.
// Screenshots: test-artifacts/screenshots/live-*.png.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterSet } from '@s2s/clusterset-sim';
import { ruleFileFromPrometheusRule } from '@s2s/test-support/promtool';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../src/browser.js';
import { artifactsDir, startSimulation, stopSimulation } from '../src/simulation.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const RULES = path.join(REPO, 'k8s/observability/monitoring/prometheus-rule.yaml');
/** Debian's `prometheus` package (.ci/apt-packages.txt). */
const PROMETHEUS = '/usr/bin/prometheus';
const PROMETHEUS_PORT = 19090;

interface Alert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}

describe('live view and breaker alert through the simulation', () => {
  let sim: ClusterSet;
  let browser: Browser;
  let page: Page;
  let prometheus: ChildProcess | undefined;
  let prometheusUrl = '';
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 's2s-sim-prometheus-'));
  const pageErrors: string[] = [];

  beforeAll(async () => {
    sim = await startSimulation({
      // A short reset so the heal shows within seconds; the trip rule is the client's own.
      callerEnv: { BREAKER_RESET_MS: '5000' },
    });
    const { addresses, namespaces } = sim.topology;
    fs.writeFileSync(
      path.join(work, 'rules.yaml'),
      ruleFileFromPrometheusRule(fs.readFileSync(RULES, 'utf8')),
    );
    fs.writeFileSync(
      path.join(work, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s }',
        'rule_files: [rules.yaml]',
        'scrape_configs:',
        `  - { job_name: caller, static_configs: [{ targets: ['${addresses.caller}:8080'] }] }`,
        '',
      ].join('\n'),
    );
    // In cluster-1, next to the caller, as a per-cluster Prometheus would run; reachable from
    // here on cluster-1's host-facing address (the gateway's).
    prometheus = spawn(
      'ip',
      [
        'netns',
        'exec',
        namespaces.cluster1,
        PROMETHEUS,
        `--config.file=${path.join(work, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(work, 'data')}`,
        `--web.listen-address=${addresses.gateway}:${PROMETHEUS_PORT}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    prometheusUrl = `http://${addresses.gateway}:${PROMETHEUS_PORT}`;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ready = await fetch(`${prometheusUrl}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) break;
      if (Date.now() > deadline || prometheus.exitCode !== null) {
        throw new Error(
          `Prometheus (${PROMETHEUS}) did not become ready in ${namespaces.cluster1}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    page.setDefaultTimeout(30_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  afterAll(async () => {
    await browser?.close();
    if (prometheus && prometheus.exitCode === null) {
      prometheus.kill('SIGTERM');
      await once(prometheus, 'exit');
    }
    fs.rmSync(work, { recursive: true, force: true });
    await stopSimulation('live-view-alert');
  });

  const shot = (name: string) =>
    page.locator('section.live').screenshot({
      path: path.join(artifactsDir('screenshots'), `${name}.png`),
    });
  const badge = () => page.locator('#breaker').textContent();

  async function breakerAlerts(): Promise<Alert[]> {
    const body = (await (await fetch(`${prometheusUrl}/api/v1/alerts`)).json()) as {
      data: { alerts: Alert[] };
    };
    return body.data.alerts.filter((alert) => alert.labels.alertname === 'S2SCircuitBreakerOpen');
  }

  it('shows traffic spread over both clusters, the partition opening the breaker, the alert firing, and the heal', async () => {
    await page.goto(`${sim.gatewayUrl}/`);
    await expect.poll(badge).toBe('Circuit breaker: closed');
    await page.getByLabel('Calls per second').fill('20');
    await page.getByLabel('For (seconds)').fill('150');
    await page.click('#live-start');

    // Answers from both producer clusters, through the gateway (the picture knows it is there).
    await expect
      .poll(
        async () =>
          new Set(await page.locator('#live-replicas tbody tr td:first-child').allTextContents())
            .size,
        { timeout: 30_000 },
      )
      .toBe(2);
    expect(await page.getAttribute('#live-topology svg', 'aria-label')).toMatch(
      /^Topology: browser, gateway, caller in caller-cluster/,
    );
    await shot('live-sim-healthy');

    // Cluster-1 cut off from every producer cluster.
    await sim.link.cut();
    await expect.poll(badge, { timeout: 30_000 }).toBe('Circuit breaker: open');
    await page.waitForSelector('#live-outcomes rect.outcome-circuit_open');
    await page.waitForSelector('#live-breaker-strip rect.state-open');
    await shot('live-sim-partition');

    // The alert: pending at once, firing after its `for: 30s`.
    let states: string[] = [];
    const deadline = Date.now() + 75_000;
    while (Date.now() < deadline && !states.includes('firing')) {
      states = (await breakerAlerts()).map((alert) => alert.state);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect(states).toContain('firing');
    const [firing] = (await breakerAlerts()).filter((alert) => alert.state === 'firing');
    expect(firing?.labels).toMatchObject({
      upstream: 'sample-producer.istio-apps.svc.clusterset.local',
      severity: 'page',
    });
    await shot('live-sim-partition-alert-firing');

    // Heal: the next trial call gets through and the badge follows without a click.
    await sim.link.heal();
    await expect.poll(badge, { timeout: 30_000 }).toBe('Circuit breaker: closed');
    await expect
      .poll(
        async () =>
          Number(
            (
              await page.locator('#live-replicas tbody tr td:nth-child(5)').allTextContents()
            ).reduce((a, b) => a + Number(b), 0),
          ),
        {
          timeout: 20_000,
        },
      )
      .toBeGreaterThan(0);
    await shot('live-sim-healed');
    await page.click('#live-stop');
    expect(pageErrors).toEqual([]);
  }, 240_000);
});
