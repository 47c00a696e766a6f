/**
 * The simulation as data: topology → the commands that build its network, the nftables rules of
 * the ClusterSetIP and of each link, and the processes to start. Pure (no root, no I/O), so it
 * is unit-tested directly; network.ts and lifecycle.ts carry it out.
 */
import path from 'node:path';
import { CALLER_CLUSTER, CLUSTERSET_HOST, SERVICE_PORT } from './topology.js';
import type { ProducerClusterId, Topology } from './topology.js';

/** One command; `ns` null is the root namespace. argv[0] is the program (`ip`, `sysctl`). */
export interface NetworkStep {
  ns: string | null;
  argv: string[];
}

/** Name of the TUN device inside each link namespace that the packet delayer serves. */
export const DELAY_DEVICE = 'dly';
/** Policy-routing table for packets coming back out of the delayer. */
const AFTER_DELAY_TABLE = '100';

/**
 * Namespaces, veth links, pod and service addresses, routes, forwarding and the delayer's TUN
 * device with its policy routing. The ClusterSetIP has no address anywhere: like a Service's
 * ClusterIP it exists only as nftables rules in cluster-1 (see clusterSetIpRuleset).
 */
export function networkSteps(topology: Topology): NetworkStep[] {
  const steps: NetworkStep[] = [];
  const add = (ns: string | null, line: string) => steps.push({ ns, argv: line.split(' ') });
  const { namespaces: ns, addresses: a } = topology;
  const c1 = ns.cluster1;
  for (const name of [
    c1,
    ...topology.producerClusters.flatMap((c) => [c.linkNamespace, c.namespace]),
  ]) {
    add(null, `ip netns add ${name}`);
    add(name, 'ip link set lo up');
  }
  // root ↔ cluster-1: the gateway's address is what a person opens.
  const host = topology.veths.host;
  add(null, `ip link add ${host.hostSide} type veth peer name ${host.cluster1Side} netns ${c1}`);
  add(null, `ip addr add ${a.hostGatewayPeer}/${topology.prefixes.hostLink} dev ${host.hostSide}`);
  add(c1, `ip addr add ${a.gateway}/${topology.prefixes.hostLink} dev ${host.cluster1Side}`);
  add(null, `ip link set ${host.hostSide} up`);
  add(c1, `ip link set ${host.cluster1Side} up`);
  // Service and pod addresses of cluster-1 live on its loopback, as /32s.
  add(c1, `ip addr add ${a.dns}/32 dev lo`);
  add(c1, `ip addr add ${a.caller}/32 dev lo`);
  const prefix = topology.prefixes.links;
  for (const cluster of topology.producerClusters) {
    const { veths: v, addresses: ca } = cluster;
    const link = cluster.linkNamespace;
    const cn = cluster.namespace;
    add(
      c1,
      `ip link add ${v.cluster1Side} type veth peer name ${v.linkCluster1Side} netns ${link}`,
    );
    add(link, `ip link add ${v.linkClusterSide} type veth peer name ${v.clusterSide} netns ${cn}`);
    add(c1, `ip addr add ${ca.cluster1Side}/${prefix} dev ${v.cluster1Side}`);
    add(link, `ip addr add ${ca.linkCluster1Side}/${prefix} dev ${v.linkCluster1Side}`);
    add(link, `ip addr add ${ca.linkClusterSide}/${prefix} dev ${v.linkClusterSide}`);
    add(cn, `ip addr add ${ca.node}/${prefix} dev ${v.clusterSide}`);
    add(c1, `ip link set ${v.cluster1Side} up`);
    add(link, `ip link set ${v.linkCluster1Side} up`);
    add(link, `ip link set ${v.linkClusterSide} up`);
    add(cn, `ip link set ${v.clusterSide} up`);
    // Every replica has its own pod address: a dead pod's address refuses connects (RST).
    for (const replica of cluster.replicas) add(cn, `ip addr add ${replica.podIp}/32 dev lo`);
    // cluster-1 → this cluster's pods, with the caller's pod address as source (a flat,
    // VPC-native pod network as GKE MCS requires: the producer sees the caller's pod IP).
    add(c1, `ip route add ${ca.podSubnet} via ${ca.linkCluster1Side} src ${a.caller}`);
    // The cluster answers the caller's pod address across its link only.
    add(cn, `ip route add ${a.caller}/32 via ${ca.linkClusterSide} src ${ca.node}`);
    // The link namespace forwards; every forwarded packet first goes through the TUN device,
    // where the delayer holds it for half the RTT, and comes back out of it into table 100,
    // whose routes lead on to the far side.
    add(link, 'sysctl -qw net.ipv4.ip_forward=1');
    add(link, 'sysctl -qw net.ipv4.conf.all.rp_filter=0');
    add(link, 'sysctl -qw net.ipv4.conf.default.rp_filter=0');
    add(link, `ip tuntap add dev ${DELAY_DEVICE} mode tun`);
    add(link, `ip link set ${DELAY_DEVICE} up`);
    add(link, `ip route add ${ca.podSubnet} dev ${DELAY_DEVICE}`);
    add(link, `ip route add ${a.caller}/32 dev ${DELAY_DEVICE}`);
    add(
      link,
      `ip route add ${ca.podSubnet} via ${ca.node} dev ${v.linkClusterSide} table ${AFTER_DELAY_TABLE}`,
    );
    add(
      link,
      `ip route add ${a.caller}/32 via ${ca.cluster1Side} dev ${v.linkCluster1Side} table ${AFTER_DELAY_TABLE}`,
    );
    add(link, `ip rule add iif ${DELAY_DEVICE} lookup ${AFTER_DELAY_TABLE} pref 100`);
  }
  // Before its DNAT, a connect to the ClusterSetIP needs a route (as a ClusterIP uses the
  // node's default route); cluster-1 has no default route, so the GKE metadata server and
  // anything else outside fail at once instead of hanging.
  const first = topology.producerClusters[0]!;
  add(
    c1,
    `ip route add ${a.clusterSetIp}/32 via ${first.addresses.linkCluster1Side} src ${a.caller}`,
  );
  return steps;
}

/** All namespaces the simulation makes (for clean-up). */
export function namespacesOf(topology: Topology): string[] {
  return [
    topology.namespaces.cluster1,
    ...topology.producerClusters.flatMap((cluster) => [cluster.linkNamespace, cluster.namespace]),
  ];
}

export const CLUSTERSET_TABLE = 's2s_clusterset';
export const LINK_TABLE = 's2s_link';

/**
 * The ClusterSetIP as kube-proxy's nftables mode builds a Service: in cluster-1's output hook
 * (the caller's pod shares that network stack), a new connection to ClusterSetIP:8080 is
 * DNAT'ed to one ready endpoint chosen by `numgen random mod N`; with no endpoint it is
 * rejected (ICMP port unreachable → ECONNREFUSED), as kube-proxy does for a Service without
 * endpoints. Connections already open keep their conntrack entry (and endpoint). The script
 * replaces the table atomically (`nft -f` applies it as one transaction).
 */
export function clusterSetIpRuleset(
  clusterSetIp: string,
  endpoints: readonly string[],
  port = SERVICE_PORT,
): string {
  for (const address of [clusterSetIp, ...endpoints]) {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(address))
      throw new Error(`not an IPv4 address: ${address}`);
  }
  const match = `ip daddr ${clusterSetIp} tcp dport ${port}`;
  const lines = [
    `table ip ${CLUSTERSET_TABLE} {}`,
    `delete table ip ${CLUSTERSET_TABLE}`,
    `table ip ${CLUSTERSET_TABLE} {`,
    '  chain services {',
    '    type nat hook output priority -100; policy accept;',
  ];
  if (endpoints.length > 0) {
    const map = endpoints.map((address, index) => `${index} : ${address}`).join(', ');
    lines.push(`    ${match} dnat to numgen random mod ${endpoints.length} map { ${map} }`);
  }
  lines.push(
    '  }',
    '  chain filter_output {',
    '    type filter hook output priority 0; policy accept;',
  );
  if (endpoints.length === 0) lines.push(`    ${match} reject`);
  lines.push('  }', '}', '');
  return lines.join('\n');
}

export type CutMode = 'blackhole' | 'reset';

/**
 * A link's cut, in the link namespace's forward hook, on packets entering from either veth (not
 * those the delayer hands back): `blackhole` drops everything, so a connect times out and open
 * connections hang; `reset` answers TCP with a reset (a connect is refused, an open connection
 * breaks at its next segment) and anything else with ICMP unreachable. Null heals.
 */
export function linkRuleset(cut: CutMode | null): string {
  const lines = [`table ip ${LINK_TABLE} {}`, `delete table ip ${LINK_TABLE}`];
  if (cut !== null) {
    // Only packets entering from a veth: what the delayer hands back (iif dly) — including the
    // resets this rule itself sends — passes.
    const entering = `iifname != "${DELAY_DEVICE}"`;
    const verdicts =
      cut === 'blackhole'
        ? [`${entering} drop`]
        : [`${entering} meta l4proto tcp reject with tcp reset`, `${entering} reject`];
    lines.push(
      `table ip ${LINK_TABLE} {`,
      '  chain cut {',
      '    type filter hook forward priority 0; policy accept;',
      ...verdicts.map((verdict) => `    ${verdict}`),
      '  }',
      '}',
    );
  }
  lines.push('');
  return lines.join('\n');
}

export interface ProbeSettings {
  periodMs: number;
  timeoutMs: number;
  failureThreshold: number;
  successThreshold: number;
}

/**
 * The producer container's `readinessProbe` from its Deployment manifest (periodSeconds,
 * timeoutSeconds, failureThreshold, successThreshold; Kubernetes' defaults 10/1/3/1 where one is
 * missing). A small line reader rather than a YAML library: it only needs that one block.
 */
export function readinessProbeFromManifest(yaml: string): ProbeSettings {
  const lines = yaml.split('\n');
  const start = lines.findIndex((line) => /^\s*readinessProbe:\s*$/.test(line));
  if (start < 0) throw new Error('the manifest has no readinessProbe');
  const indent = lines[start]!.search(/\S/);
  const values: Record<string, number> = {};
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    if (line.search(/\S/) <= indent) break;
    const match =
      /^\s*(periodSeconds|timeoutSeconds|failureThreshold|successThreshold):\s*(\d+)\s*$/.exec(
        line,
      );
    if (match) values[match[1]!] = Number(match[2]);
  }
  return {
    periodMs: (values.periodSeconds ?? 10) * 1000,
    timeoutMs: (values.timeoutSeconds ?? 1) * 1000,
    failureThreshold: values.failureThreshold ?? 3,
    successThreshold: values.successThreshold ?? 1,
  };
}

export interface McsSettings {
  /** Delay before an exporting cluster's endpoint change is seen in cluster-1. */
  propagationDelayMs: number;
  /** A cluster that stops reporting keeps its endpoints this long after its last report. */
  leaseMs: number;
}

/** The exporting clusters' side of MCS. */
export interface McsReportSettings {
  /** How often a cluster reports its endpoints (renews its lease) without a change. */
  heartbeatMs: number;
}

export interface LinkSettings {
  rttMs: number;
  jitterMs: number;
}

export type ProcessName =
  | 'dns'
  | 'gateway'
  | 'mcs-importer'
  | `exporter-${ProducerClusterId}`
  | `link-${ProducerClusterId}`
  | 'producer-a'
  | 'producer-b'
  | 'producer-c'
  | 'producer-d'
  | 'caller'
  | 'reaper';

export interface ProcessRecord {
  name: ProcessName;
  /** Empty: the root namespace. */
  namespace: string;
  /** The program; **Default:** this node binary. */
  program?: string;
  cwd: string;
  args: string[];
  env: Record<string, string>;
  log: string;
  controlSocket: string | null;
  pid: number | null;
}

export interface AppLaunch {
  /** Working directory (the app's folder). */
  cwd: string;
  /**
   * Arguments after `node`. **Default:** those of the app's `start` script (as its image starts
   * it), else `['--enable-source-maps', 'dist/server.js']`.
   */
  args?: string[];
}

export interface ProcessPlanInput {
  topology: Topology;
  stateDir: string;
  /** dist/helper-main.js, started with node in a namespace. */
  helperEntry: string;
  /** The TUN delayer script and the python3 that runs it. */
  delayer: { python: string; script: string };
  caller: Required<AppLaunch>;
  producer: Required<AppLaunch>;
  callerEnv: Record<string, string>;
  producerEnv: Record<string, string>;
  gatewayPort: number;
  dnsTtlSeconds: number;
  probe: ProbeSettings;
  /** The exporters' relist of each producer pod's process (a crash is noticed at the next). */
  kubeletRelistMs: number;
  mcs: McsSettings & McsReportSettings;
  link: LinkSettings;
}

export const controlSocketOf = (stateDir: string, name: string) =>
  path.join(stateDir, 'ctl', `${name}.sock`);
export const logOf = (stateDir: string, name: string) => path.join(stateDir, 'logs', `${name}.log`);
/** The delayer of a link reads its RTT and jitter from this file whenever it changes. */
export const linkShapeFileOf = (stateDir: string, id: ProducerClusterId) =>
  path.join(stateDir, 'ctl', `link-${id}.json`);

/** Every process of the simulation, in start order: helpers, producers, then the caller. */
export function processPlan(input: ProcessPlanInput): ProcessRecord[] {
  const { topology, stateDir } = input;
  const a = topology.addresses;
  const ns = topology.namespaces;
  const helper = (
    name: ProcessName,
    namespace: string,
    role: string,
    config: unknown,
  ): ProcessRecord => ({
    name,
    namespace,
    cwd: path.dirname(input.helperEntry),
    args: [input.helperEntry, role, JSON.stringify(config), controlSocketOf(stateDir, name)],
    env: {},
    log: logOf(stateDir, name),
    controlSocket: controlSocketOf(stateDir, name),
    pid: null,
  });
  const records: ProcessRecord[] = [
    helper('dns', ns.cluster1, 'dns', {
      listen: { host: a.dns, port: 53 },
      records: { [CLUSTERSET_HOST]: a.clusterSetIp },
      ttlSeconds: input.dnsTtlSeconds,
    }),
    helper('gateway', ns.cluster1, 'gateway', {
      listen: { host: a.gateway, port: input.gatewayPort },
      upstream: { host: a.caller, port: SERVICE_PORT },
    }),
    helper('mcs-importer', ns.cluster1, 'mcs-importer', {
      clusterSetIp: a.clusterSetIp,
      port: SERVICE_PORT,
      clusters: topology.producerClusters.map((cluster) => cluster.id),
      propagationDelayMs: input.mcs.propagationDelayMs,
      leaseMs: input.mcs.leaseMs,
    }),
  ];
  for (const cluster of topology.producerClusters) {
    records.push({
      name: `link-${cluster.id}`,
      namespace: cluster.linkNamespace,
      program: input.delayer.python,
      cwd: path.dirname(input.delayer.script),
      args: [input.delayer.script, DELAY_DEVICE, linkShapeFileOf(stateDir, cluster.id)],
      env: {},
      log: logOf(stateDir, `link-${cluster.id}`),
      controlSocket: null,
      pid: null,
    });
    records.push(
      helper(`exporter-${cluster.id}`, cluster.namespace, 'mcs-exporter', {
        cluster: cluster.id,
        pods: cluster.replicas.map((replica) => ({
          name: replica.name,
          host: replica.podIp,
          port: SERVICE_PORT,
        })),
        probe: input.probe,
        relistMs: input.kubeletRelistMs,
        heartbeatMs: input.mcs.heartbeatMs,
        importerSocket: controlSocketOf(stateDir, 'mcs-importer'),
      }),
    );
  }
  for (const cluster of topology.producerClusters) {
    for (const replica of cluster.replicas) {
      records.push({
        name: replica.name,
        namespace: cluster.namespace,
        cwd: input.producer.cwd,
        args: input.producer.args,
        env: {
          PORT: String(SERVICE_PORT),
          HOST: replica.podIp,
          CLUSTER_NAME: cluster.name,
          CLUSTER_LOCATION: cluster.location,
          POD_NAME: replica.podName,
          POD_IP: replica.podIp,
          APP_VERSION: 'v1',
          ...input.producerEnv,
        },
        log: logOf(stateDir, replica.name),
        controlSocket: null,
        pid: null,
      });
    }
  }
  records.push({
    name: 'caller',
    namespace: ns.cluster1,
    cwd: input.caller.cwd,
    args: input.caller.args,
    // The contract's default PRODUCER_URL and no PRODUCER_CONNECT_TO: the clusterset name is
    // resolved by the DNS above and the connection is DNAT'ed by the ClusterSetIP rules.
    env: {
      PORT: String(SERVICE_PORT),
      HOST: '0.0.0.0',
      CLUSTER_NAME: CALLER_CLUSTER.name,
      CLUSTER_LOCATION: CALLER_CLUSTER.location,
      POD_NAME: 'sample-caller-0',
      POD_IP: a.caller,
      APP_VERSION: 'v1',
      // The mesh's sidecar picks an endpoint for each request; without one, the ClusterSetIP picks
      // one per connection, and a caller whose few pooled sockets stay busy would stay on the
      // endpoints it reached first. A new connection every 20 calls spreads it over all of them
      // (docs/simulation.md, "Faithful or not").
      PRODUCER_MAX_REQUESTS_PER_CONNECTION: '20',
      ...input.callerEnv,
    },
    log: logOf(stateDir, 'caller'),
    controlSocket: null,
    pid: null,
  });
  for (const record of records) {
    delete record.env.PRODUCER_URL;
    delete record.env.PRODUCER_CONNECT_TO;
  }
  return records;
}
