#!/usr/bin/env node
/**
 * `pnpm sim <verb>` — the clusterset simulation for a person. `up` starts every process
 * detached (they keep running after the command returns) and prints the topology and the
 * gateway URL; `down` removes everything, also after a failed or interrupted `up`.
 */
import { parseArgs } from 'node:util';
import { ClusterSet } from './handle.js';
import { upClusterSet } from './lifecycle.js';
import type { CutMode, ProcessName } from './plan.js';
import { downClusterSet } from './teardown.js';
import { CLUSTERSET_HOST, PRODUCER_CLUSTER_IDS } from './topology.js';
import type { ProducerClusterId } from './topology.js';

const USAGE = `usage: pnpm sim <command> [options]

commands:
  up               create cluster-1 (caller) and the exporting cluster-2 and cluster-3; prints
                   the topology and the gateway URL
  down             stop every process and remove namespaces, links, rules and state
  status           topology, processes, endpoints (ready / in the ClusterSetIP), links, leases
  kill             SIGKILL one producer replica (--name producer-a|b|c|d), a crash
  stop             stop one process (--name NAME [--signal SIGTERM|SIGKILL]); SIGTERM on a
                   replica is a pod deletion (its endpoint is withdrawn first)
  start            start a stopped process again (--name NAME)
  cut              cut a cluster's link (--cluster cluster-2|cluster-3|all, --mode blackhole|reset)
  heal             end the cut (--cluster …)
  slow             change a link's latency (--cluster …, --rtt-ms N, --jitter-ms N)
  stop-reporting   a cluster stops reporting its endpoints (--cluster …): they stay until its
                   lease expires in cluster-1
  resume-reporting the cluster reports again (--cluster …)
  mcs              change MCS settings of the running simulation (--propagation-ms N, --lease-ms N)
  resolve          resolve a name the way cluster-1 does (--name HOST)

options:
  --instance N        simulation instance 0..15 (default 0; the e2e tests use 1)
  --rtt-ms N          round-trip time of each link (up, slow; default 35)
  --jitter-ms N       jitter per direction (up, slow; default 2)
  --propagation-ms N  endpoint propagation delay to cluster-1 (up, mcs; default 1000)
  --lease-ms N        lease of an exporting cluster's endpoints (up, mcs; default 10000)
  --gateway-port N    port of the ingress gateway (up; default 80)
  --env KEY=VALUE     extra environment for the caller and producers (up; repeatable)
  --ttl-minutes N     take everything down after N minutes (up; default 240, 0 = never)
`;

class UsageError extends Error {}

function number(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0)
    throw new UsageError(`--${flag} must be a non-negative number, got "${value}"`);
  return parsed;
}

function clustersOf(value: string | undefined, command: string): ProducerClusterId[] {
  if (value === 'all') return [...PRODUCER_CLUSTER_IDS];
  if (value === 'cluster-2' || value === 'cluster-3') return [value];
  throw new UsageError(`${command} needs --cluster cluster-2, cluster-3 or all`);
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      instance: { type: 'string' },
      'rtt-ms': { type: 'string' },
      'jitter-ms': { type: 'string' },
      'propagation-ms': { type: 'string' },
      'lease-ms': { type: 'string' },
      'gateway-port': { type: 'string' },
      env: { type: 'string', multiple: true },
      mode: { type: 'string' },
      cluster: { type: 'string' },
      name: { type: 'string' },
      signal: { type: 'string' },
      'ttl-minutes': { type: 'string' },
      'state-root': { type: 'string' },
      'after-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  const instance = number(values.instance, 'instance') ?? 0;
  const attach = () => ClusterSet.attach({ instance });
  const mcs = {
    propagationDelayMs: number(values['propagation-ms'], 'propagation-ms'),
    leaseMs: number(values['lease-ms'], 'lease-ms'),
  };
  switch (command) {
    case 'up': {
      const env = Object.fromEntries(
        (values.env ?? []).map((pair) => {
          const index = pair.indexOf('=');
          if (index < 1) throw new UsageError(`--env must be KEY=VALUE, got "${pair}"`);
          return [pair.slice(0, index), pair.slice(index + 1)];
        }),
      );
      const ttlMinutes = number(values['ttl-minutes'], 'ttl-minutes') ?? 240;
      const rttMs = number(values['rtt-ms'], 'rtt-ms');
      const jitterMs = number(values['jitter-ms'], 'jitter-ms');
      const gatewayPort = number(values['gateway-port'], 'gateway-port');
      // Interrupted half-way: take down what was made so far instead of leaving it running.
      const interrupted = (signal: NodeJS.Signals) => {
        console.error(`\n${signal}: removing what was started so far…`);
        void downClusterSet({ instance, keepLogs: true }).finally(() => process.exit(130));
      };
      process.once('SIGINT', interrupted);
      process.once('SIGTERM', interrupted);
      const clusterSet = await upClusterSet({
        instance,
        rttMs,
        jitterMs,
        gatewayPort,
        mcs: Object.fromEntries(Object.entries(mcs).filter(([, value]) => value !== undefined)),
        callerEnv: env,
        producerEnv: env,
        ttlMs: ttlMinutes > 0 ? ttlMinutes * 60_000 : undefined,
      });
      await printStatus(clusterSet);
      console.log(`\nclusterset simulation ${instance} is up. Open ${clusterSet.gatewayUrl}/`);
      console.log(
        `logs: ${clusterSet.stateDir}/logs   remove it all: pnpm sim down${instance ? ` --instance ${instance}` : ''}`,
      );
      return 0;
    }
    case 'down': {
      const removed = await downClusterSet({ instance });
      console.log(
        removed.length ? removed.map((item) => `removed ${item}`).join('\n') : 'nothing to remove',
      );
      return 0;
    }
    case 'reap': {
      // Internal: the detached reaper started by `up --ttl-minutes`.
      await new Promise((resolve) =>
        setTimeout(resolve, number(values['after-ms'], 'after-ms') ?? 0),
      );
      const removed = await downClusterSet({ instance, stateRoot: values['state-root'] });
      console.log(`lifetime over: removed ${removed.length} items`);
      return 0;
    }
    case 'status':
      await printStatus(attach());
      return 0;
    case 'cut':
    case 'heal':
    case 'slow': {
      const clusters = clustersOf(values.cluster, command);
      const mode = (values.mode ?? 'blackhole') as CutMode;
      if (mode !== 'blackhole' && mode !== 'reset')
        throw new UsageError('--mode must be blackhole or reset');
      const rttMs = number(values['rtt-ms'], 'rtt-ms');
      const jitterMs = number(values['jitter-ms'], 'jitter-ms');
      if (command === 'slow' && rttMs === undefined && jitterMs === undefined) {
        throw new UsageError('slow needs --rtt-ms and/or --jitter-ms');
      }
      const sim = attach();
      for (const id of clusters) {
        const link = sim.cluster(id).link;
        const state =
          command === 'cut'
            ? await link.cut(mode)
            : command === 'heal'
              ? await link.heal()
              : await link.shape({ rttMs, jitterMs });
        console.log(`${id} link: ${describeLink(state)}`);
      }
      return 0;
    }
    case 'stop-reporting':
    case 'resume-reporting': {
      const sim = attach();
      for (const id of clustersOf(values.cluster, command)) {
        if (command === 'stop-reporting') await sim.cluster(id).stopReporting();
        else await sim.cluster(id).resumeReporting();
        console.log(
          `${id}: ${command === 'stop-reporting' ? 'stopped reporting its endpoints' : 'reports its endpoints again'}`,
        );
      }
      return 0;
    }
    case 'mcs': {
      const change = Object.fromEntries(
        Object.entries(mcs).filter(([, value]) => value !== undefined),
      );
      if (Object.keys(change).length === 0)
        throw new UsageError('mcs needs --propagation-ms and/or --lease-ms');
      console.log(JSON.stringify(await attach().mcs.configure(change)));
      return 0;
    }
    case 'resolve': {
      if (!values.name) throw new UsageError(`resolve needs --name (e.g. ${CLUSTERSET_HOST})`);
      const addresses = await attach().resolveInCluster1(values.name);
      console.log(addresses.length > 0 ? addresses.join('\n') : `${values.name}: not found`);
      return addresses.length > 0 ? 0 : 1;
    }
    case 'kill':
    case 'stop':
    case 'start': {
      if (!values.name) throw new UsageError(`${command} needs --name (e.g. producer-a)`);
      const sim = attach();
      const name = values.name as ProcessName;
      if (command === 'start') {
        await sim.start(name);
        console.log(`${name} is ready`);
      } else {
        const sig =
          command === 'kill' ? 'SIGKILL' : ((values.signal ?? 'SIGTERM') as NodeJS.Signals);
        const took = await sim.stop(name, sig);
        console.log(`${name} exited ${took} ms after ${sig}`);
      }
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

function describeLink(state: { rttMs: number; jitterMs: number; cut: CutMode | null }): string {
  return `rtt ${state.rttMs} ms ± ${state.jitterMs} ms, ${state.cut ? `CUT (${state.cut})` : 'up'}`;
}

async function printStatus(clusterSet: ClusterSet): Promise<void> {
  const t = clusterSet.topology;
  const alive = new Map(clusterSet.processes().map((p) => [p.name, p]));
  const proc = (name: string) => {
    const p = alive.get(name as ProcessName);
    return p ? `${p.alive ? 'running' : 'stopped'} pid ${p.pid ?? '-'}` : '-';
  };
  const endpoints = await clusterSet.endpoints().catch(() => []);
  const mcs = await clusterSet.mcs.status().catch(() => null);
  const links = await clusterSet.link.status().catch(() => null);
  console.log(`cluster-1  caller-cluster (us-west1-a)          netns ${t.namespaces.cluster1}`);
  console.log(`  gateway  ${clusterSet.gatewayUrl}/  (${proc('gateway')})`);
  console.log(`  caller   ${t.addresses.caller}:8080  (${proc('caller')})`);
  console.log(
    `  dns      ${t.addresses.dns}:53  ${CLUSTERSET_HOST} -> ${t.addresses.clusterSetIp}  (${proc('dns')})`,
  );
  console.log(
    `  ClusterSetIP ${t.addresses.clusterSetIp}:8080  nft DNAT numgen random mod ${mcs?.active.length ?? '?'} -> ${mcs?.active.join(', ') || '(none: refused)'}`,
  );
  if (mcs)
    console.log(
      `  mcs      propagation ${mcs.propagationDelayMs} ms, lease ${mcs.leaseMs} ms  (${proc('mcs-importer')})`,
    );
  for (const cluster of t.producerClusters) {
    const lease = mcs?.clusters.find((c) => c.cluster === cluster.id);
    const age = lease?.renewedAt ? `${Date.now() - lease.renewedAt} ms ago` : 'never';
    console.log(
      `${cluster.id}  ${cluster.name} (${cluster.location})   netns ${cluster.namespace}, link ${cluster.linkNamespace}`,
    );
    if (links)
      console.log(
        `  link     ${describeLink(links[cluster.id])}  (delayer ${proc(`link-${cluster.id}`)})`,
      );
    console.log(
      `  exporter last report applied ${age}${lease?.expired ? ', LEASE EXPIRED' : ''}  (${proc(`exporter-${cluster.id}`)})`,
    );
    for (const replica of cluster.replicas) {
      const endpoint = endpoints.find((e) => e.name === replica.name);
      const readiness = endpoint
        ? `${endpoint.terminating ? 'terminating' : endpoint.ready ? 'ready' : 'not ready'}, ${endpoint.serving ? 'in' : 'not in'} the ClusterSetIP`
        : 'unknown';
      console.log(
        `  ${replica.name.padEnd(10)} ${replica.podIp}:8080  ${readiness}  (${proc(replica.name)})`,
      );
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (
      error instanceof UsageError ||
      (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      console.error(`${error.message}\n\n${USAGE}`);
      process.exit(2);
    }
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
