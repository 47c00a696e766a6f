#!/usr/bin/env node
/**
 * `pnpm sim up|down|status|cut|heal|shape|stop|start` — the clusterset simulation for a person.
 * `up` starts every process detached (they keep running after the command returns) and prints
 * the gateway URL; `down` removes everything, also after a failed or interrupted `up`.
 */
import { parseArgs } from 'node:util';
import { ClusterSet, downClusterSet, upClusterSet } from './clusterset.js';
import type { ProcessName } from './clusterset.js';
import type { CutMode } from './link-shaper.js';

const USAGE = `usage: pnpm sim <command> [options]

commands:
  up       create both clusters and start everything; prints the gateway URL
  down     stop every process and remove namespaces, links and state
  status   processes, balancer endpoints and link state
  cut      partition the link between the clusters (--mode blackhole|reset)
  heal     end the partition
  shape    change the link (--rtt-ms N, --jitter-ms N)
  stop     stop one process (--name NAME [--signal SIGTERM|SIGKILL])
  start    start a stopped process again (--name NAME)
  resolve  resolve a name the way cluster-1 does (--name HOST)

options:
  --instance N     simulation instance 0..15 (default 0; the e2e tests use 1)
  --rtt-ms N       round-trip time across the link (up, shape; default 35)
  --jitter-ms N    jitter per direction (up, shape; default 2)
  --gateway-port N port of the ingress gateway (up; default 80)
  --env KEY=VALUE  extra environment for the caller and producers (up; repeatable)
  --ttl-minutes N  take everything down after N minutes (up; default 240, 0 = never)
`;

function number(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0)
    throw new UsageError(`--${flag} must be a non-negative number, got "${value}"`);
  return parsed;
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      instance: { type: 'string' },
      'rtt-ms': { type: 'string' },
      'jitter-ms': { type: 'string' },
      'gateway-port': { type: 'string' },
      env: { type: 'string', multiple: true },
      mode: { type: 'string' },
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
      // Interrupted half-way: take down what was made so far instead of leaving it running.
      const interrupted = (signal: NodeJS.Signals) => {
        console.error(`\n${signal}: removing what was started so far…`);
        void downClusterSet({ instance, keepLogs: true }).finally(() => process.exit(130));
      };
      process.once('SIGINT', interrupted);
      process.once('SIGTERM', interrupted);
      const clusterSet = await upClusterSet({
        instance,
        rttMs: number(values['rtt-ms'], 'rtt-ms'),
        jitterMs: number(values['jitter-ms'], 'jitter-ms'),
        gatewayPort: number(values['gateway-port'], 'gateway-port'),
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
      await printStatus(ClusterSet.attach({ instance }));
      return 0;
    case 'cut': {
      const mode = (values.mode ?? 'blackhole') as CutMode;
      if (mode !== 'blackhole' && mode !== 'reset')
        throw new UsageError('--mode must be blackhole or reset');
      console.log(JSON.stringify(await ClusterSet.attach({ instance }).link.cut(mode)));
      return 0;
    }
    case 'heal':
      console.log(JSON.stringify(await ClusterSet.attach({ instance }).link.heal()));
      return 0;
    case 'shape':
      console.log(
        JSON.stringify(
          await ClusterSet.attach({ instance }).link.shape({
            rttMs: number(values['rtt-ms'], 'rtt-ms'),
            jitterMs: number(values['jitter-ms'], 'jitter-ms'),
          }),
        ),
      );
      return 0;
    case 'resolve': {
      if (!values.name)
        throw new UsageError(
          'resolve needs --name (e.g. sample-producer.istio-apps.svc.clusterset.local)',
        );
      const addresses = await ClusterSet.attach({ instance }).resolveInCluster1(values.name);
      console.log(addresses.length > 0 ? addresses.join('\n') : `${values.name}: not found`);
      return addresses.length > 0 ? 0 : 1;
    }
    case 'stop':
    case 'start': {
      if (!values.name) throw new UsageError(`${command} needs --name (e.g. producer-a)`);
      const clusterSet = ClusterSet.attach({ instance });
      const name = values.name as ProcessName;
      if (command === 'stop') {
        const took = await clusterSet.stop(name, (values.signal ?? 'SIGTERM') as NodeJS.Signals);
        console.log(`${name} exited after ${took} ms`);
      } else {
        await clusterSet.start(name);
        console.log(`${name} is ready`);
      }
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

async function printStatus(clusterSet: ClusterSet): Promise<void> {
  const t = clusterSet.topology;
  console.log(`gateway      ${clusterSet.gatewayUrl}  (netns ${t.namespaces.cluster1})`);
  console.log(
    `clusterset   sample-producer.istio-apps.svc.clusterset.local -> ${t.addresses.clusterSetIp} (DNS ${t.addresses.dns})`,
  );
  for (const process of clusterSet.processes()) {
    console.log(
      `process      ${process.name.padEnd(12)} ${process.alive ? 'running' : 'stopped'}  pid ${process.pid ?? '-'}  netns ${process.namespace}`,
    );
  }
  const endpoints = await clusterSet.endpoints().catch(() => []);
  for (const endpoint of endpoints) {
    console.log(
      `endpoint     ${endpoint.name.padEnd(12)} ${endpoint.host}:${endpoint.port} ${endpoint.ready ? 'ready' : 'not ready'}  connections ${endpoint.connectionsTotal}`,
    );
  }
  const link = await clusterSet.link.status().catch(() => null);
  if (link) {
    console.log(
      `link         rtt ${link.rttMs} ms ± ${link.jitterMs} ms, ${link.cut ? `CUT (${link.cut})` : 'up'}, ${link.connectionsOpen} open connections`,
    );
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
