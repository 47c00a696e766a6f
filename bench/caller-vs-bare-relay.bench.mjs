// Caller overhead: POST /caller/messages throughput and p99 of the real caller (validation,
// shared client with breaker and deadline, envelope, metrics) against a bare relay (Fastify +
// undici `request`, bare-relay.mjs), both relaying to the same producer, in one run.
// Target: caller/relay throughput ratio >= 0.85. Bounded: ROUNDS × 2 targets × DURATION_S.
// The machine is shared, so each round measures both back to back (order alternating) and the
// reported ratio is the median of the per-round ratios, which cancels slow drifts in load. Its
// confidence interval (median-interval.mjs) decides the verdict: met, missed, or inconclusive when
// this run's noise is larger than the distance to the target.
//
//   pnpm --filter @s2s/bench bench            (or pnpm bench at the root)
//   BENCH_DURATION_S=8 BENCH_CONNECTIONS=32 node bench/caller-vs-bare-relay.bench.mjs
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { formatInterval, median, medianInterval, verdict } from './median-interval.mjs';

/** A whole number in [min, max] from the environment, or exit 2 naming the variable. */
function wholeNumber(name, fallback, min, max) {
  const raw = process.env[name] ?? String(fallback);
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
    console.error(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
    process.exit(2);
  }
  return value;
}
const DURATION_S = wholeNumber('BENCH_DURATION_S', 3, 1, 60);
const CONNECTIONS = wholeNumber('BENCH_CONNECTIONS', 32, 1, 1024);
const ROUNDS = wholeNumber('BENCH_ROUNDS', 9, 1, 50);
const TARGET_RATIO = 0.85;

const path = (relative) => fileURLToPath(new URL(relative, import.meta.url));
const children = [];

/** Starts a node process and resolves its origin from the first "listening" line it prints. */
function start(name, script, env) {
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start`)), 20_000);
    child.stdout.on('data', (chunk) => {
      output += chunk.toString();
      const match = /(?:listening|Server listening at) (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`${name} exited with ${code}: ${output}`)));
  });
}

function stopAll() {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
}
process.on('exit', stopAll);

function load(url, duration) {
  return autocannon({
    url: `${url}/caller/messages`,
    method: 'POST',
    connections: CONNECTIONS,
    duration,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'bench-1', payload: 'hello from the benchmark' }),
  });
}

// Identity set so no metadata-server lookup happens; no shutdown delay when the bench ends.
const identity = { CLUSTER_NAME: 'bench', CLUSTER_LOCATION: 'local', SHUTDOWN_DELAY_MS: '0' };
// `pnpm bench` at the root builds first; `pnpm --filter @s2s/bench bench` runs what was built.
for (const built of ['../apps/producer/dist/server.js', '../apps/caller/dist/server.js']) {
  if (!existsSync(path(built))) {
    console.error(
      `${path(built)} is missing: run \`pnpm bench\` at the root (it builds first) or \`pnpm turbo run build\``,
    );
    process.exit(2);
  }
}
const producerOrigin = await startService('producer', '../apps/producer/dist/server.js', identity);
const callerOrigin = await startService('caller', '../apps/caller/dist/server.js', {
  ...identity,
  PRODUCER_URL: producerOrigin,
});
const relayOrigin = await start('bare relay', path('./bare-relay.mjs'), {
  PRODUCER_ORIGIN: producerOrigin,
});
const pidOf = { caller: children[1].pid, relay: children[2].pid };

/**
 * CPU time (ms) a process used so far, from /proc (Linux; NaN elsewhere). CPU per request is a
 * second, steadier view of the overhead than throughput on a machine shared with other work.
 */
function cpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime, in 10 ms ticks
  } catch {
    return Number.NaN;
  }
}

/**
 * The services run at LOG_LEVEL=warn (the relay logs nothing either), so they print no
 * "listening" line: give them a free port and wait for /readyz.
 */
async function startService(name, script, env) {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [path(script)], {
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}),
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const ready = await fetch(`${origin}/readyz`)
      .then((response) => response.ok)
      .catch(() => false);
    if (ready) return origin;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${name} did not become ready`);
}

async function freePort() {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

console.log(
  `caller vs bare relay: ${CONNECTIONS} connections, ${ROUNDS} rounds × ${DURATION_S} s each, same producer`,
);
// Warm-up (JIT, connection pools), not measured.
await load(callerOrigin, 2);
await load(relayOrigin, 2);

const results = { caller: [], relay: [] };
const ratios = [];
for (let round = 1; round <= ROUNDS; round++) {
  const order = [
    ['caller', callerOrigin],
    ['relay', relayOrigin],
  ];
  if (round % 2 === 0) order.reverse();
  const measured = {};
  for (const [name, origin] of order) {
    const cpuBefore = cpuMs(pidOf[name]);
    const result = await load(origin, DURATION_S);
    const cpuPerRequestUs = ((cpuMs(pidOf[name]) - cpuBefore) * 1000) / result.requests.total;
    const bad = result.non2xx + result.errors + result.timeouts;
    measured[name] = {
      rps: result.requests.average,
      p99: result.latency.p99,
      cpu: cpuPerRequestUs,
      bad,
    };
    results[name].push(measured[name]);
    console.log(
      `  round ${round} ${name.padEnd(6)} ${result.requests.average.toFixed(0).padStart(6)} req/s  p99 ${String(result.latency.p99).padStart(4)} ms  ${cpuPerRequestUs.toFixed(0).padStart(4)} µs CPU/req  non-2xx/errors ${bad}`,
    );
  }
  ratios.push({
    rps: measured.caller.rps / measured.relay.rps,
    p99: measured.caller.p99 / measured.relay.p99,
    cpu: measured.relay.cpu / measured.caller.cpu,
  });
}

const summary = (name) => ({
  rps: median(results[name].map((r) => r.rps)),
  p99: median(results[name].map((r) => r.p99)),
  bad: results[name].reduce((sum, r) => sum + r.bad, 0),
});
const caller = summary('caller');
const relay = summary('relay');
const ratio = medianInterval(ratios.map((r) => r.rps));
const p99Ratio = median(ratios.map((r) => r.p99));
const cpuRatio = medianInterval(ratios.map((r) => r.cpu));
console.log(
  `caller: ${caller.rps.toFixed(0)} req/s, p99 ${caller.p99.toFixed(1)} ms (median of rounds)`,
);
console.log(
  `relay:  ${relay.rps.toFixed(0)} req/s, p99 ${relay.p99.toFixed(1)} ms (median of rounds)`,
);
console.log(
  `throughput ratio caller/relay = ${formatInterval(ratio)}; target >= ${TARGET_RATIO}: ${verdict(ratio, TARGET_RATIO)}`,
);
console.log(`p99 ratio caller/relay = ${p99Ratio.toFixed(2)} (median per-round)`);
console.log(`CPU efficiency relay/caller (CPU per request) = ${formatInterval(cpuRatio)}`);
if (caller.bad + relay.bad > 0)
  console.log(`warning: ${caller.bad + relay.bad} non-2xx/errors/timeouts`);
stopAll();
