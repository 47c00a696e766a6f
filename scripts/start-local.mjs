#!/usr/bin/env node
// `pnpm start` (after building both apps): runs the producer on 127.0.0.1:8081 and the caller on
// :8080, the caller still addressing the producer by its clusterset name (docs/contract.md, "Local
// run"). Ctrl-C or SIGTERM is passed on to both; this script exits when both have exited.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const PRODUCER_HOST = 'sample-producer.istio-apps.svc.clusterset.local';
const CALLER_PORT = 8080;
const PRODUCER_PORT = 8081;

// A laptop has no cluster: name it, so the identity needs no metadata-server lookup.
const localIdentity = {
  CLUSTER_NAME: process.env.CLUSTER_NAME ?? 'local',
  CLUSTER_LOCATION: process.env.CLUSTER_LOCATION ?? 'localhost',
};

const services = [
  {
    name: 'producer',
    dir: 'apps/producer',
    env: { HOST: '127.0.0.1', PORT: String(PRODUCER_PORT) },
  },
  {
    name: 'caller',
    dir: 'apps/caller',
    env: {
      PORT: String(CALLER_PORT),
      PRODUCER_URL: `http://${PRODUCER_HOST}:8080`,
      PRODUCER_CONNECT_TO: `${PRODUCER_HOST}:8080:127.0.0.1:${PRODUCER_PORT}`,
    },
  },
];

for (const service of services) {
  if (!existsSync(new URL(`../${service.dir}/dist/server.js`, import.meta.url))) {
    console.error(
      `start-local: ${service.dir}/dist/server.js is missing; build first (pnpm start does).`,
    );
    process.exit(1);
  }
}

/** The arguments after `node` of an app's `start` script, so this runs exactly that command. */
function startArgs(dir) {
  const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
  const [program, ...args] = String(pkg.scripts?.start ?? '')
    .split(/\s+/)
    .filter(Boolean);
  if (program !== 'node') {
    console.error(
      `start-local: ${dir}/package.json "start" does not run node: ${pkg.scripts?.start}`,
    );
    process.exit(1);
  }
  return args;
}

let stopping = false;
let failed = false;
const children = services.map((service) => {
  // The app's own `start` script (what its image runs too: tests/deploy checks that), from its
  // folder; it loads the OpenTelemetry entry (spans are exported only when
  // OTEL_EXPORTER_OTLP_ENDPOINT is set; logs carry trace ids).
  const child = spawn(process.execPath, startArgs(service.dir), {
    cwd: join(root, service.dir),
    env: {
      ...process.env,
      ...localIdentity,
      SHUTDOWN_DELAY_MS: '0',
      ...service.env,
    },
    stdio: 'inherit',
    // Own process group: a terminal's Ctrl-C reaches only this script, which then sends each
    // service exactly one SIGTERM (a second signal would make close-with-grace exit 1).
    detached: true,
  });
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      if (code !== 0) failed = true;
      if (!stopping) {
        console.error(
          `start-local: ${service.name} exited (${signal ?? code}); stopping the other`,
        );
        stopAll('SIGTERM');
      }
      resolve();
    });
  });
  return { service, child, exited };
});

function stopAll(signal) {
  stopping = true;
  for (const { child } of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  }
}

process.on('SIGINT', () => stopAll('SIGTERM'));
process.on('SIGTERM', () => stopAll('SIGTERM'));
// If this script dies anyway, the detached services must not outlive it.
process.on('exit', () => {
  for (const { child } of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

// Announce the UI once the caller is ready (bounded wait).
const readyUrl = `http://127.0.0.1:${CALLER_PORT}/readyz`;
const deadline = Date.now() + 30_000;
while (!stopping && Date.now() < deadline) {
  const ready = await fetch(readyUrl, { signal: AbortSignal.timeout(1_000) })
    .then((response) => response.ok)
    .catch(() => false);
  if (ready) {
    console.log(`\n  s2s is running: open http://localhost:${CALLER_PORT}/ (Ctrl-C stops both)\n`);
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
}

await Promise.all(children.map(({ exited }) => exited));
process.exit(failed ? 1 : 0);
