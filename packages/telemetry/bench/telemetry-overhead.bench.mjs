// Telemetry overhead of a relay service (caller → producer over undici), side by side in one run:
//   off   — the caller started without `--import @s2s/telemetry/register`
//   10%   — with it, OTEL_TRACES_SAMPLER=parentbased_traceidratio, ratio 0.1, exporting
//   100%  — with it, ratio 1.0, exporting every span over OTLP/HTTP protobuf
// to an OTLP receiver in this process. The producer runs without telemetry in every
// configuration, so only the caller's cost changes. Closed loop (fixed concurrency). Each round
// measures every configuration back to back (the starting one rotating from round to round), and
// a configuration's ratio is the median over rounds of (its req/s ÷ off's req/s in the same
// round): on a shared machine whose speed drifts between rounds, only measurements taken
// moments apart are comparable. Targets: 10% ≥ 0.90 × off, 100% ≥ 0.80 × off. A target's verdict
// comes from the median's confidence interval (@s2s/test-support/median-interval):
// met, missed, or inconclusive when this run's noise is larger than the distance to the target.
// Two figures per configuration: throughput (req/s) and the caller process's CPU time per
// request (user + system, from /proc/PID/stat). On a machine shared with other work, throughput
// swings with everyone else's load; CPU per request hardly does, and `off CPU / config CPU` is
// the throughput ratio the caller would reach when CPU-bound on a core of its own.
// A second phase measures that CPU cost side by side: every configuration at the same fixed
// rate (--fixed-rate req/s each, all at once, below saturation), so each round's CPU figures
// come from the same seconds of the same machine; on this shared 2-core machine it is far
// steadier than comparing saturated rounds taken one after another.
//
//   pnpm --filter @s2s/telemetry bench [-- --rounds 9 --seconds 3 --warmup 15 --connections 16 --fixed-rate 500 --breakdown]
//   BENCH_APPS=real … uses apps/caller + apps/producer dist/server.js when built (default: auto)
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '@s2s/test-support/free-port';
import { formatInterval, median, medianInterval, verdict } from '@s2s/test-support/median-interval';
import { Pool } from 'undici';

const { values: flags } = parseFlags({
  // `pnpm --filter @s2s/telemetry bench -- --rounds 9` hands the script a leading `--`.
  args: process.argv.slice(2).filter((arg, index) => !(index === 0 && arg === '--')),
  options: {
    rounds: { type: 'string', default: '9' },
    seconds: { type: 'string', default: '3' },
    // Unmeasured load per configuration first: a caller keeps getting cheaper per request for
    // about 12 s under load (JIT tiers, young generation growing), one with telemetry longer.
    warmup: { type: 'string', default: '15' },
    connections: { type: 'string', default: '16' },
    // req/s per configuration in the side-by-side phase; 0 skips it. Default: 1500 in total.
    'fixed-rate': { type: 'string' },
    // Adds one 10% configuration per instrumentation left out (OTEL_NODE_DISABLED_INSTRUMENTATIONS),
    // plus 0% (every instrumentation, nothing sampled), 0% with @fastify/otel alone and 10% not
    // exported, to see what each part costs.
    breakdown: { type: 'boolean', default: false },
  },
});

/** parseArgs, exiting 2 with its message (which names the flag) instead of a stack trace. */
function parseFlags(config) {
  try {
    return parseArgs(config);
  } catch (error) {
    console.error(error.message);
    process.exit(2);
  }
}

/** A whole number in [min, max] from --name, or exit 2 naming the flag. */
function wholeNumber(name, min, max) {
  const value = Number(flags[name]);
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`--${name} must be a whole number from ${min} to ${max}, got "${flags[name]}"`);
    process.exit(2);
  }
  return value;
}
const ROUNDS = wholeNumber('rounds', 1, 20);
const ROUND_MS = wholeNumber('seconds', 1, 30) * 1000;
const WARMUP_MS = wholeNumber('warmup', 0, 120) * 1000;
const CONNECTIONS = wholeNumber('connections', 1, 256);
const FIXED_RATE_FLAG =
  flags['fixed-rate'] === undefined ? undefined : wholeNumber('fixed-rate', 0, 5000);
const MAX_REQUESTS_PER_ROUND = 2_000_000; // hard bound, far above what 2 cores reach

const packageDir = fileURLToPath(new URL('../', import.meta.url));
const repoDir = fileURLToPath(new URL('../../../', import.meta.url));
const realCaller = `${repoDir}apps/caller/dist/server.js`;
const realProducer = `${repoDir}apps/producer/dist/server.js`;
const useRealApps =
  process.env.BENCH_APPS === 'real' ||
  (process.env.BENCH_APPS !== 'fixtures' && existsSync(realCaller) && existsSync(realProducer));

/** CPU time (user + system) a process has used so far, in ms; Linux /proc only. */
function cpuMs(pid) {
  // Fields after the parenthesised command name: state is field 3, utime 14, stime 15 (clock ticks).
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}
const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux x86-64 and arm64

/** An OTLP/HTTP sink: drains each export and answers 200, counting requests and bytes. */
async function startReceiver() {
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
  return { server, stats, endpoint: `http://127.0.0.1:${server.address().port}` };
}

function withoutOtelEnv() {
  return Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('OTEL_')),
  );
}

/** Starts a service and resolves once its port answers. */
async function startService({ entry, register, env }) {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [...(register ? ['--import', '@s2s/telemetry/register'] : []), entry],
    {
      cwd: packageDir,
      env: {
        ...withoutOtelEnv(),
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: 'info',
        SHUTDOWN_DELAY_MS: '0',
        ...env,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${entry} exited with ${child.exitCode}`);
    try {
      const answer = await fetch(`${origin}/livez`);
      if (answer.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${entry} did not start within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    origin,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/**
 * CONNECTIONS request loops against one caller for ROUND_MS, on a fresh connection pool; `loop`
 * decides when each loop sends. Returns req/s (200 answers) and the caller's CPU per request.
 */
async function drive({ origin, pid }, loop) {
  const pool = new Pool(origin, { connections: CONNECTIONS, pipelining: 1 });
  const body = JSON.stringify({ id: 'bench', payload: 'x'.repeat(64) });
  const counts = { completed: 0, failed: 0 };
  const send = async () => {
    try {
      const answer = await pool.request({
        method: 'POST',
        path: '/caller/messages',
        headers: { 'content-type': 'application/json' },
        body,
      });
      await answer.body.dump();
      if (answer.statusCode === 200) counts.completed++;
      else counts.failed++;
    } catch {
      counts.failed++;
    }
  };
  const cpuBefore = cpuMs(pid);
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, (_, index) => loop({ index, start, send, counts })),
  );
  const elapsedS = (performance.now() - start) / 1000;
  const cpuPerRequestMs = (cpuMs(pid) - cpuBefore) / Math.max(1, counts.completed + counts.failed);
  await pool.close();
  return { rps: counts.completed / elapsedS, cpuPerRequestMs, failed: counts.failed };
}

/** Closed loop: every loop sends its next request as soon as the last one is answered. */
function measure(caller) {
  return drive(caller, async ({ start, send, counts }) => {
    const stopAt = start + ROUND_MS;
    while (
      performance.now() < stopAt &&
      counts.completed + counts.failed < MAX_REQUESTS_PER_ROUND
    ) {
      await send();
    }
  });
}

/**
 * Paced load: `rate` req/s spread over the loops, each sending at its own fixed times. Below the
 * caller's capacity every request is sent on time, so the achieved rate is the asked one and
 * only the CPU it costs differs between configurations.
 */
function measureAtRate(caller, rate) {
  return drive(caller, async ({ index, start, send }) => {
    for (let sent = 0; ; sent++) {
      const due = start + ((index + sent * CONNECTIONS) * 1000) / rate;
      if (due >= start + ROUND_MS) return;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      await send();
    }
  });
}

const receiver = await startReceiver();
const producerEntry = useRealApps ? realProducer : `${packageDir}test/fixtures/producer.mjs`;
const callerEntry = useRealApps ? realCaller : `${packageDir}test/fixtures/caller.mjs`;
const producer = await startService({ entry: producerEntry, register: false, env: {} });

const exporting = {
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
  OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
};
const configurations = [
  { name: 'off', register: false, env: {} },
  { name: '10%', register: true, env: { ...exporting, OTEL_TRACES_SAMPLER_ARG: '0.1' } },
  { name: '100%', register: true, env: { ...exporting, OTEL_TRACES_SAMPLER_ARG: '1' } },
];
if (flags.breakdown) {
  configurations.push({
    name: '10%, SDK only',
    register: true,
    env: {
      ...exporting,
      OTEL_TRACES_SAMPLER_ARG: '0.1',
      OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'http,undici,fastify,pino',
    },
  });
  // What a request costs when nothing is sampled: the instrumentations' per-request work alone.
  configurations.push({
    name: '0%',
    register: true,
    env: { ...exporting, OTEL_TRACES_SAMPLER_ARG: '0' },
  });
  configurations.push({
    name: '0%, @fastify/otel only',
    register: true,
    env: {
      ...exporting,
      OTEL_TRACES_SAMPLER_ARG: '0',
      OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'http,undici,pino',
    },
  });
  // 10% with spans made and ended but not exported (no endpoint: a no-op span processor).
  configurations.push({
    name: '10%, not exported',
    register: true,
    env: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' },
  });
  for (const left of ['http', 'undici', 'fastify', 'pino']) {
    configurations.push({
      name: `10% w/o ${left}`,
      register: true,
      env: {
        ...exporting,
        OTEL_TRACES_SAMPLER_ARG: '0.1',
        OTEL_NODE_DISABLED_INSTRUMENTATIONS: left,
      },
    });
  }
}
// req/s per configuration in the side-by-side phase: 1500 in total unless --fixed-rate says.
const FIXED_RATE = FIXED_RATE_FLAG ?? Math.floor(1500 / configurations.length);
const callers = [];
for (const configuration of configurations) {
  const producerUrl = useRealApps
    ? 'http://sample-producer.istio-apps.svc.clusterset.local:8080'
    : producer.origin;
  const producerPort = new URL(producer.origin).port;
  callers.push(
    await startService({
      entry: callerEntry,
      register: configuration.register,
      env: {
        ...configuration.env,
        OTEL_SERVICE_NAME: 'caller',
        PRODUCER_URL: producerUrl,
        PRODUCER_CONNECT_TO: `sample-producer.istio-apps.svc.clusterset.local:8080:127.0.0.1:${producerPort}`,
      },
    }),
  );
}

console.log(
  `telemetry overhead: ${useRealApps ? 'apps/caller → apps/producer' : 'fixture caller → fixture producer'}, ` +
    `${WARMUP_MS / 1000} s warm-up each, then ${ROUNDS} rounds × ${ROUND_MS / 1000} s × ${configurations.length} configurations, ${CONNECTIONS} connections`,
);
// Warm-up, not counted: every configuration in turn, one round's length at a time, until each
// has had WARMUP_MS of load (at least one slice: connection pools).
for (let warmed = 0; warmed === 0 || warmed < WARMUP_MS; warmed += ROUND_MS) {
  for (const caller of callers) await measure(caller).catch(() => undefined);
}

const samples = configurations.map(() => []);
const cpuSamples = configurations.map(() => []);
for (let round = 1; round <= ROUNDS; round++) {
  const line = [];
  const order = callers.map((_, index) => (index + round - 1) % callers.length);
  for (const index of order) {
    const { rps, cpuPerRequestMs, failed } = await measure(callers[index]);
    samples[index].push(rps);
    cpuSamples[index].push(cpuPerRequestMs);
    line.push(
      `${configurations[index].name} ${rps.toFixed(0)} req/s ${(cpuPerRequestMs * 1000).toFixed(0)} µs CPU/req` +
        (failed ? ` (${failed} failed)` : ''),
    );
  }
  console.log(`round ${round}: ${line.join(', ')}`);
}

const targets = { '10%': 0.9, '100%': 0.8 };

/**
 * Configuration `index` against `off` (index 0), paired per round (measured moments apart):
 * throughput as this ÷ off, CPU cost as off ÷ this; the median's interval and the target's verdict.
 */
function ratioToOff(perRound, index, kind) {
  const interval = medianInterval(
    perRound[index].map((value, round) =>
      kind === 'cpu' ? perRound[0][round] / value : value / perRound[0][round],
    ),
  );
  const target = targets[configurations[index].name];
  return (
    formatInterval(interval) +
    (target === undefined ? '' : `; target ≥ ${target.toFixed(2)}: ${verdict(interval, target)}`)
  );
}

console.log('');
for (const [index, configuration] of configurations.entries()) {
  const rate = `${median(samples[index]).toFixed(0)} req/s, ${(median(cpuSamples[index]) * 1000).toFixed(0)} µs CPU/req`;
  console.log(`${configuration.name}: ${rate}`);
  if (index === 0) continue;
  console.log(`  throughput ratio to off ${ratioToOff(samples, index, 'throughput')}`);
  console.log(`  CPU-cost ratio off/this ${ratioToOff(cpuSamples, index, 'cpu')}`);
}
console.log('(req/s and µs CPU/req: medians over rounds; ratios: medians of per-round ratios)');

// Side by side at a fixed rate (see the top of this file).
if (FIXED_RATE > 0) {
  console.log('');
  console.log(
    `side by side: every configuration at ${FIXED_RATE} req/s at the same time, ${ROUNDS} rounds × ${ROUND_MS / 1000} s`,
  );
  const fixedCpu = configurations.map(() => []);
  for (let round = 1; round <= ROUNDS; round++) {
    const results = await Promise.all(callers.map((caller) => measureAtRate(caller, FIXED_RATE)));
    const line = results.map(({ rps, cpuPerRequestMs, failed }, index) => {
      fixedCpu[index].push(cpuPerRequestMs);
      return (
        `${configurations[index].name} ${(cpuPerRequestMs * 1000).toFixed(0)} µs` +
        (Math.abs(rps - FIXED_RATE) > FIXED_RATE * 0.05 ? ` (only ${rps.toFixed(0)} req/s)` : '') +
        (failed ? ` (${failed} failed)` : '')
      );
    });
    console.log(`round ${round}: ${line.join(', ')}`);
  }
  for (const [index, configuration] of configurations.entries()) {
    const cpu = `${(median(fixedCpu[index]) * 1000).toFixed(0)} µs CPU/req`;
    console.log(
      index === 0
        ? `${configuration.name}: ${cpu}`
        : `${configuration.name}: ${cpu}; CPU-cost ratio off/this ${ratioToOff(fixedCpu, index, 'cpu')}`,
    );
  }
}
console.log(
  `OTLP receiver: ${receiver.stats.requests} export requests, ${(receiver.stats.bytes / 1e6).toFixed(1)} MB`,
);

for (const caller of callers) await caller.stop();
await producer.stop();
receiver.server.close();
