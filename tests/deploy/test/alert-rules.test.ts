// k8s/observability/monitoring: the PrometheusRule's groups pass `promtool check rules` and the
// promtool unit tests in tests/deploy/rules (input series → expected alerts), and the dashboard
// ConfigMap carries dashboard.json as it is. Debian's promtool; missing, the tests fail.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promtool, ruleFileFromPrometheusRule } from '@s2s/test-support/promtool';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { findOne, render } from './support/kustomize.js';
import { deployTestsRoot, fromRepo } from './support/paths.js';

const MONITORING = 'k8s/observability/monitoring';
const RULE_MANIFEST = fromRepo(MONITORING, 'prometheus-rule.yaml');
const UNIT_TESTS = join(deployTestsRoot, 'rules', 's2s-alerts.test.yaml');

const work = mkdtempSync(join(tmpdir(), 's2s-rules-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Writes a rule file and the unit tests next to it (they name it rules.yaml); returns the folder. */
function ruleFolder(name: string, rules: string): string {
  const dir = mkdtempSync(join(work, `${name}-`));
  writeFileSync(join(dir, 'rules.yaml'), rules);
  copyFileSync(UNIT_TESTS, join(dir, 's2s-alerts.test.yaml'));
  return dir;
}

describe('s2s-alerts (PrometheusRule)', () => {
  const manifest = readFileSync(RULE_MANIFEST, 'utf8');
  const rules = ruleFileFromPrometheusRule(manifest);

  it('renders with kustomize into istio-apps, and its groups are the rule file the tests use', () => {
    const rendered = findOne(render(MONITORING), 'PrometheusRule', 's2s-alerts');
    expect(rendered.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(rendered.metadata.namespace).toBe('istio-apps');
    // The text extraction (which the Prometheus end-to-end test uses too) is the parsed spec.
    expect(parse(rules)).toEqual(rendered.spec);
    const names = (rendered.spec as { groups: Array<{ rules: Array<{ alert?: string }> }> }).groups
      .flatMap((group) => group.rules)
      .flatMap((rule) => (rule.alert === undefined ? [] : [rule.alert]));
    expect(names).toEqual([
      'S2SCircuitBreakerOpen',
      'S2SCallerErrorRatioHigh',
      'S2SLatencyBudgetFastBurn',
      'S2SLatencyBudgetSlowBurn',
    ]);
  });

  it('passes promtool check rules', async () => {
    const dir = ruleFolder('check', rules);
    const output = await promtool(['check', 'rules', 'rules.yaml'], dir);
    expect(output).toContain('SUCCESS: 9 rules found');
  });

  it('passes its promtool unit tests (breaker open, error ratio, fast and slow burn)', async () => {
    const dir = ruleFolder('test', rules);
    const output = await promtool(['test', 'rules', 's2s-alerts.test.yaml'], dir);
    expect(output).toContain('SUCCESS');
  });

  it('fails those unit tests when a rule changes (the tests can fail)', async () => {
    const slower = rules.replace(/(alert: S2SCircuitBreakerOpen\n(?:.*\n)*?\s+for: )30s/, '$12m');
    expect(slower).not.toBe(rules);
    const dir = ruleFolder('mutated', slower);
    await expect(promtool(['test', 'rules', 's2s-alerts.test.yaml'], dir)).rejects.toThrow(
      /S2SCircuitBreakerOpen/,
    );
  });
});

describe('s2s-dashboard (Grafana dashboard ConfigMap)', () => {
  it('carries dashboard.json unchanged, labelled for the Grafana sidecar, under a fixed name', () => {
    const configMap = findOne(render(MONITORING), 'ConfigMap', 's2s-dashboard');
    expect(configMap.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    const data = (configMap as unknown as { data: Record<string, string> }).data;
    const file = readFileSync(fromRepo(MONITORING, 'dashboard.json'), 'utf8');
    expect(data['s2s.json']).toBe(file);
    const dashboard = JSON.parse(file) as {
      uid: string;
      panels: Array<{ type: string; targets?: Array<{ expr: string }> }>;
    };
    expect(dashboard.uid).toBe('s2s-overview');
    const exprs = dashboard.panels.flatMap((panel) => panel.targets ?? []).map((t) => t.expr);
    // What a person needs on it: outcomes, latency, the breaker, the producer's status, 499s.
    for (const series of [
      'http_client_requests_total',
      'http_client_request_duration_seconds_bucket',
      'circuit_breaker_state',
      'http_server_request_duration_seconds_count',
      'http_client_active_requests',
      's2s_build_info',
    ]) {
      expect(
        exprs.some((expr) => expr.includes(series)),
        series,
      ).toBe(true);
    }
  });
});
