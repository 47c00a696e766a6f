// Shared by the benches in this folder: starting the built apps as the image does, a loopback
// OTLP/HTTP sink, per-process CPU and RSS from /proc, and env-knob parsing that exits 2 naming
// the variable.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@s2s/test-support/free-port';

export const path = (relative) => fileURLToPath(new URL(relative, import.meta.url));
export const CALLER = path('../apps/caller/dist/server.js');
export const PRODUCER = path('../apps/producer/dist/server.js');
export const PRODUCER_HOST = 'sample-producer.istio-apps.svc.clusterset.local';

/** Exits 2 unless both apps are built (`pnpm bench` at the root builds first). */
export function requireBuiltApps() {
  for (const built of [CALLER, PRODUCER]) {
    if (!existsSync(built)) {
      console.error(
        `${built} is missing: run \`pnpm bench\` at the root or \`pnpm turbo run build\``,
      );
      process.exit(2);
    }
  }
}

/** A whole number in [min, max] from the environment, or exit 2 naming the variable. */
export function wholeNumber(name, fallback, min, max) {
  const raw = process.env[name] ?? String(fallback);
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
    console.error(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
    process.exit(2);
  }
  return value;
}

/** CPU time (user + system, ms) a process used so far; Linux /proc (USER_HZ 100). */
export function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Resident set size of a process in MB (VmRSS), and its peak so far (VmHWM). */
export function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** 1-minute load average (what else the machine was doing). */
export function loadAverage() {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/** An OTLP/HTTP sink on loopback: drains each export, answers 200, counts requests and bytes. */
export async function startOtlpSink() {
  const stats = { requests: 0, bytes: 0 };
  const server = createServer((request, response) => {
    request.on('data', (chunk) => (stats.bytes += chunk.length));
    request.on('end', () => {
      stats.requests++;
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    stats,
    endpoint: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

const children = new Set();
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

/**
 * Starts a built app as its image does (`node [--import @s2s/telemetry/register] dist/server.js`),
 * with only the environment given here (no OTEL_* of the runner), and waits for /readyz.
 */
export async function startApp(name, entry, { register = false, env = {}, nodeArgs = [] } = {}) {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    [...nodeArgs, ...(register ? ['--import', '@s2s/telemetry/register'] : []), entry],
    {
      // The app's own folder: `--import @s2s/telemetry/register` resolves from its dependencies.
      cwd: dirname(dirname(entry)),
      env: {
        PATH: process.env.PATH,
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: 'info',
        SHUTDOWN_DELAY_MS: '0',
        CLUSTER_NAME: 'bench',
        CLUSTER_LOCATION: 'local',
        POD_NAME: name,
        POD_IP: '127.0.0.1',
        ...env,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  children.add(child);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    const ready = await fetch(`${origin}/readyz`)
      .then((answer) => answer.ok)
      .catch(() => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`${name} did not become ready within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    name,
    origin,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
      children.delete(child);
    },
  };
}

/** A caller in front of `producer`, addressed by the clusterset name as in the clusters. */
export function startCaller(name, producer, { register = false, env = {}, nodeArgs = [] } = {}) {
  return startApp(name, CALLER, {
    register,
    nodeArgs,
    env: {
      PRODUCER_CONNECT_TO: `${PRODUCER_HOST}:8080:127.0.0.1:${new URL(producer.origin).port}`,
      ...env,
    },
  });
}

/** Telemetry settings by name: what each caller configuration is started with. */
export function telemetryConfig(name, sink) {
  const exporting = (ratio) => ({
    register: true,
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint,
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: String(ratio),
    },
  });
  switch (name) {
    case 'off':
      return { register: false, env: {} };
    case 'disabled':
      return { register: true, env: { OTEL_SDK_DISABLED: 'true' } };
    case 'no exporter':
      return { register: true, env: {} };
    case '10%':
      return exporting(0.1);
    case '100%':
      return exporting(1);
    case '0%':
      return exporting(0);
    default:
      throw new Error(`unknown telemetry configuration ${name}`);
  }
}
