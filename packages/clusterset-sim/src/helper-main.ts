#!/usr/bin/env node
/**
 * Entry of the harness's own processes: `node helper-main.js ROLE CONFIG_JSON CONTROL_SOCKET`,
 * started inside a namespace with `ip netns exec`. Each one serves until SIGTERM/SIGINT.
 */
import type http from 'node:http';
import { ClustersetBalancer } from './clusterset-balancer.js';
import type { ClustersetBalancerOptions } from './clusterset-balancer.js';
import { ClustersetDns } from './clusterset-dns.js';
import type { ClustersetDnsOptions } from './clusterset-dns.js';
import { serveControl } from './control-channel.js';
import type { ControlHandler } from './control-channel.js';
import { IngressGateway } from './ingress-gateway.js';
import type { IngressGatewayOptions } from './ingress-gateway.js';
import { LinkShaper } from './link-shaper.js';
import type { CutMode, LinkShaperOptions } from './link-shaper.js';

export type HelperRole = 'link-shaper' | 'balancer' | 'dns' | 'gateway';

async function start(
  role: HelperRole,
  config: unknown,
): Promise<{ handler: ControlHandler; close: () => Promise<void> }> {
  switch (role) {
    case 'link-shaper': {
      const shaper = new LinkShaper(config as LinkShaperOptions);
      await shaper.listen();
      return {
        handler: (action, body) => {
          const args = (body ?? {}) as { rttMs?: number; jitterMs?: number; mode?: CutMode };
          if (action === 'status') return shaper.stats();
          if (action === 'shape') return shaper.shape(args);
          if (action === 'cut') return shaper.cut(args.mode ?? 'blackhole');
          if (action === 'heal') return shaper.heal();
          throw new Error(`unknown action ${action}`);
        },
        close: () => shaper.close(),
      };
    }
    case 'balancer': {
      const balancer = new ClustersetBalancer(config as ClustersetBalancerOptions);
      await balancer.listen();
      return {
        handler: (action) => {
          if (action === 'status') {
            return {
              endpoints: balancer.endpoints(),
              refusedNoEndpoint: balancer.refusedNoEndpoint,
            };
          }
          throw new Error(`unknown action ${action}`);
        },
        close: () => balancer.close(),
      };
    }
    case 'dns': {
      const dns = new ClustersetDns(config as ClustersetDnsOptions);
      await dns.listen();
      return {
        handler: (action) => {
          if (action === 'status') return { queries: dns.queries };
          throw new Error(`unknown action ${action}`);
        },
        close: () => dns.close(),
      };
    }
    case 'gateway': {
      const gateway = new IngressGateway(config as IngressGatewayOptions);
      await gateway.listen();
      return {
        handler: (action) => {
          if (action === 'status') {
            return {
              requests: gateway.requests,
              upstreamErrors: gateway.upstreamErrors,
              retries: gateway.retries,
            };
          }
          throw new Error(`unknown action ${action}`);
        },
        close: () => gateway.close(),
      };
    }
    default:
      throw new Error(`unknown helper role ${String(role)}`);
  }
}

async function main(): Promise<void> {
  const [role, configJson, controlSocket] = process.argv.slice(2);
  if (!role || !configJson || !controlSocket) {
    throw new Error('usage: helper-main.js ROLE CONFIG_JSON CONTROL_SOCKET');
  }
  const helper = await start(role as HelperRole, JSON.parse(configJson));
  let controlServer: http.Server | null = null;
  controlServer = await serveControl(controlSocket, helper.handler);
  console.log(JSON.stringify({ msg: 'helper ready', role, pid: process.pid }));
  const stop = (signal: string) => {
    console.log(JSON.stringify({ msg: 'helper stopping', role, signal }));
    // Bounded: whatever hangs, the process is gone within 2 s.
    setTimeout(() => process.exit(0), 2000).unref();
    void helper.close().finally(() => {
      controlServer?.close();
      process.exit(0);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(JSON.stringify({ msg: 'helper failed', error: String(error) }));
  process.exit(1);
});
