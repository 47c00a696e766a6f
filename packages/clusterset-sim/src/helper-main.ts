#!/usr/bin/env node
/**
 * Entry of the harness's own Node processes: `node helper-main.js ROLE CONFIG_JSON
 * CONTROL_SOCKET`, started inside a namespace with `ip netns exec`. Each one serves until
 * SIGTERM/SIGINT. (The link delayers are Python: helpers/link-delayer.py.)
 */
import type http from 'node:http';
import { ClusterSetDns } from './clusterset-dns.js';
import type { ClusterSetDnsOptions } from './clusterset-dns.js';
import { serveControl } from './control-channel.js';
import type { ControlHandler } from './control-channel.js';
import { McsExporter, McsImporter } from './endpoints-controller.js';
import type {
  ClusterReport,
  McsExporterOptions,
  McsImporterOptions,
} from './endpoints-controller.js';
import { IngressGateway } from './ingress-gateway.js';
import type { IngressGatewayOptions } from './ingress-gateway.js';
import type { McsSettings } from './plan.js';

export type HelperRole = 'dns' | 'gateway' | 'mcs-importer' | 'mcs-exporter';

async function start(
  role: HelperRole,
  config: unknown,
): Promise<{ handler: ControlHandler; close: () => Promise<void> }> {
  switch (role) {
    case 'mcs-importer': {
      const importer = new McsImporter(config as McsImporterOptions);
      await importer.start();
      return {
        handler: (action, body) => {
          if (action === 'status') return importer.status();
          if (action === 'report') {
            importer.receive(body as ClusterReport);
            return { ok: true };
          }
          if (action === 'configure') return importer.configure(body as Partial<McsSettings>);
          throw new Error(`unknown action ${action}`);
        },
        close: () => importer.close(),
      };
    }
    case 'mcs-exporter': {
      const exporter = new McsExporter(config as McsExporterOptions);
      exporter.start();
      return {
        handler: (action, body) => {
          const { name, pid } = (body ?? {}) as { name?: string; pid?: number };
          if (action === 'status') return exporter.status();
          if (action === 'running') {
            if (!name || pid === undefined || !Number.isInteger(pid)) {
              throw new Error('running needs a pod name and a pid');
            }
            exporter.running(name, pid);
            return exporter.status();
          }
          if (action === 'terminating' || action === 'started') {
            if (!name) throw new Error(`${action} needs a pod name`);
            if (action === 'terminating') exporter.terminating(name);
            else exporter.started(name);
            return exporter.status();
          }
          if (action === 'stop-reporting' || action === 'resume-reporting') {
            exporter.setReporting(action === 'resume-reporting');
            return exporter.status();
          }
          throw new Error(`unknown action ${action}`);
        },
        close: () => {
          exporter.close();
          return Promise.resolve();
        },
      };
    }
    case 'dns': {
      const dns = new ClusterSetDns(config as ClusterSetDnsOptions);
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
