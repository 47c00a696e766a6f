/** The pure plan: topology → network commands, nftables rules, processes. No root needed. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  CLUSTERSET_TABLE,
  DELAY_DEVICE,
  clusterSetIpRuleset,
  linkRuleset,
  networkSteps,
  processPlan,
  readinessProbeFromManifest,
} from '../src/plan.js';
import { PRODUCER_REPLICAS, topologyFor } from '../src/topology.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const topology = topologyFor(4);
const lines = networkSteps(topology).map((step) => `${step.ns ?? 'root'}: ${step.argv.join(' ')}`);

describe('networkSteps', () => {
  it('gives every producer replica its own pod address in its own cluster, and nowhere else', () => {
    for (const cluster of topology.producerClusters) {
      for (const replica of cluster.replicas) {
        const adds = lines.filter((line) => line.includes(`addr add ${replica.podIp}/32`));
        expect(adds).toEqual([`${cluster.namespace}: ip addr add ${replica.podIp}/32 dev lo`]);
      }
    }
    expect(topology.addresses.producers).toHaveLength(PRODUCER_REPLICAS.length);
  });

  it('gives the ClusterSetIP no address anywhere: it exists only as rules (plus a route to exist at all)', () => {
    const ip = topology.addresses.clusterSetIp;
    expect(lines.filter((line) => line.includes(ip))).toEqual([
      `${topology.namespaces.cluster1}: ip route add ${ip}/32 via ${topology.producerClusters[0]!.addresses.linkCluster1Side} src ${topology.addresses.caller}`,
    ]);
  });

  it('sends every forwarded packet of a link through the delayer and on by policy routing', () => {
    for (const cluster of topology.producerClusters) {
      const inLink = lines.filter((line) => line.startsWith(`${cluster.linkNamespace}:`));
      expect(inLink).toContain(`${cluster.linkNamespace}: sysctl -qw net.ipv4.ip_forward=1`);
      expect(inLink).toContain(
        `${cluster.linkNamespace}: ip tuntap add dev ${DELAY_DEVICE} mode tun`,
      );
      expect(inLink).toContain(
        `${cluster.linkNamespace}: ip route add ${cluster.addresses.podSubnet} dev ${DELAY_DEVICE}`,
      );
      expect(inLink).toContain(
        `${cluster.linkNamespace}: ip rule add iif ${DELAY_DEVICE} lookup 100 pref 100`,
      );
    }
  });

  it("routes cluster-1 to each exporting cluster through that cluster's own link", () => {
    for (const cluster of topology.producerClusters) {
      expect(lines).toContain(
        `${topology.namespaces.cluster1}: ip route add ${cluster.addresses.podSubnet} via ${cluster.addresses.linkCluster1Side} src ${topology.addresses.caller}`,
      );
    }
  });
});

describe('clusterSetIpRuleset', () => {
  it('DNATs ClusterSetIP:8080 to one of N endpoints with numgen random mod N, replacing the table atomically', () => {
    const script = clusterSetIpRuleset('198.18.3.10', ['198.18.6.11', '198.18.9.12']);
    expect(
      script.startsWith(`table ip ${CLUSTERSET_TABLE} {}\ndelete table ip ${CLUSTERSET_TABLE}\n`),
    ).toBe(true);
    expect(script).toContain('type nat hook output priority -100');
    expect(script).toContain(
      'ip daddr 198.18.3.10 tcp dport 8080 dnat to numgen random mod 2 map { 0 : 198.18.6.11, 1 : 198.18.9.12 }',
    );
    expect(script).not.toContain('reject');
  });

  it('rejects a connect when there is no endpoint, as kube-proxy does for a Service without endpoints', () => {
    const script = clusterSetIpRuleset('198.18.3.10', []);
    expect(script).not.toContain('dnat');
    expect(script).toContain('ip daddr 198.18.3.10 tcp dport 8080 reject');
  });

  it('refuses anything but IPv4 addresses (the text goes to nft)', () => {
    expect(() => clusterSetIpRuleset('198.18.3.10', ['1.2.3.4; flush ruleset'])).toThrow(
      /not an IPv4/,
    );
  });
});

describe('linkRuleset', () => {
  it('drops for a blackhole, resets TCP for reset, and only removes the table when healed', () => {
    expect(linkRuleset('blackhole')).toContain(`iifname != "${DELAY_DEVICE}" drop`);
    expect(linkRuleset('reset')).toContain(
      `iifname != "${DELAY_DEVICE}" meta l4proto tcp reject with tcp reset`,
    );
    // Every verdict spares what the delayer hands back, or the link's own resets would be cut.
    for (const mode of ['blackhole', 'reset'] as const) {
      const verdicts = linkRuleset(mode)
        .split('\n')
        .filter((line) => /\b(drop|reject)\b/.test(line));
      expect(verdicts.length).toBeGreaterThan(0);
      for (const line of verdicts) expect(line).toContain(`iifname != "${DELAY_DEVICE}"`);
    }
    expect(linkRuleset(null)).not.toContain('chain');
  });
});

describe('readinessProbeFromManifest', () => {
  it("reads the producer Deployment's readinessProbe", () => {
    const yaml = fs.readFileSync(path.join(REPO, 'k8s/base/producer/deployment.yaml'), 'utf8');
    const probe = readinessProbeFromManifest(yaml);
    // Whatever the manifest says, in milliseconds and taken from the readiness block only.
    const block = /readinessProbe:[\s\S]*?periodSeconds: (\d+)[\s\S]*?failureThreshold: (\d+)/.exec(
      yaml,
    )!;
    expect(probe.periodMs).toBe(Number(block[1]) * 1000);
    expect(probe.failureThreshold).toBe(Number(block[2]));
  });

  it("uses Kubernetes' defaults for missing fields and fails on a manifest without the probe", () => {
    expect(
      readinessProbeFromManifest('readinessProbe:\n  httpGet:\n    path: /readyz\nother: 1\n'),
    ).toEqual({
      periodMs: 10_000,
      timeoutMs: 1000,
      failureThreshold: 3,
      successThreshold: 1,
    });
    expect(() => readinessProbeFromManifest('livenessProbe:\n  periodSeconds: 1\n')).toThrow(
      /no readinessProbe/,
    );
  });
});

describe('processPlan', () => {
  const planInput: Parameters<typeof processPlan>[0] = {
    topology,
    stateDir: '/run/x/4',
    helperEntry: '/pkg/dist/helper-main.js',
    delayer: { python: '/usr/bin/python3', script: '/pkg/helpers/link-delayer.py' },
    caller: { cwd: '/apps/caller', args: ['dist/server.js'] },
    producer: { cwd: '/apps/producer', args: ['dist/server.js'] },
    callerEnv: { PRODUCER_URL: 'http://elsewhere', PRODUCER_TIMEOUT_MS: '800' },
    producerEnv: { SHUTDOWN_DELAY_MS: '1500' },
    gatewayPort: 80,
    dnsTtlSeconds: 2,
    probe: { periodMs: 5000, timeoutMs: 2000, failureThreshold: 2, successThreshold: 1 },
    kubeletRelistMs: 1000,
    mcs: { propagationDelayMs: 500, leaseMs: 3000, heartbeatMs: 1000 },
    link: { rttMs: 35, jitterMs: 2 },
  };
  const records = processPlan(planInput);
  const byName = new Map(records.map((record) => [record.name, record]));

  it("runs each replica in its cluster with that cluster's identity and its own pod address", () => {
    for (const cluster of topology.producerClusters) {
      for (const replica of cluster.replicas) {
        const record = byName.get(replica.name)!;
        expect(record.namespace).toBe(cluster.namespace);
        expect(record.env).toMatchObject({
          HOST: replica.podIp,
          POD_IP: replica.podIp,
          CLUSTER_NAME: cluster.name,
          CLUSTER_LOCATION: cluster.location,
          SHUTDOWN_DELAY_MS: '1500',
        });
      }
    }
  });

  it('never lets PRODUCER_URL through: the caller uses the clusterset name', () => {
    expect(byName.get('caller')!.env.PRODUCER_URL).toBeUndefined();
    expect(byName.get('caller')!.env.PRODUCER_TIMEOUT_MS).toBe('800');
  });

  it("closes the caller's producer connections every 20 calls, standing in for the sidecar's per-request balancing, unless callerEnv says otherwise", () => {
    expect(byName.get('caller')!.env.PRODUCER_MAX_REQUESTS_PER_CONNECTION).toBe('20');
    const [overridden] = processPlan({
      ...planInput,
      callerEnv: { PRODUCER_MAX_REQUESTS_PER_CONNECTION: '0' },
    }).filter((record) => record.name === 'caller');
    expect(overridden!.env.PRODUCER_MAX_REQUESTS_PER_CONNECTION).toBe('0');
  });

  it('starts one exporter per exporting cluster in that cluster, one delayer per link, and the importer in cluster-1', () => {
    for (const cluster of topology.producerClusters) {
      expect(byName.get(`exporter-${cluster.id}`)!.namespace).toBe(cluster.namespace);
      expect(byName.get(`link-${cluster.id}`)).toMatchObject({
        namespace: cluster.linkNamespace,
        program: '/usr/bin/python3',
      });
    }
    for (const cluster of topology.producerClusters) {
      const exporter = JSON.parse(byName.get(`exporter-${cluster.id}`)!.args[2]!) as Record<
        string,
        unknown
      >;
      expect(exporter).toMatchObject({
        cluster: cluster.id,
        probe: planInput.probe,
        relistMs: 1000,
        heartbeatMs: 1000,
      });
    }
    expect(byName.get('mcs-importer')!.namespace).toBe(topology.namespaces.cluster1);
    const config = JSON.parse(byName.get('mcs-importer')!.args[2]!) as Record<string, unknown>;
    expect(config).toMatchObject({
      propagationDelayMs: 500,
      leaseMs: 3000,
      clusters: ['cluster-2', 'cluster-3'],
    });
  });
});
