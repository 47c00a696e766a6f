// Efficiency of the generator (issue 16, item 6), measured side by side in one run:
//   1. CPU per request at one fixed rate, s2s-loadtest vs autocannon, ROUNDS rounds in
//      alternating order (ours first in even rounds, autocannon first in odd ones): the ratio of
//      each round, its median and its spread (the bench's own error on a shared machine);
//   2. the highest rate one s2s-loadtest process sustains on one core with send-lag p99 ≤ 10 ms;
//   3. `--workers 2` against one process at a rate above one process's reach.
//
//   pnpm --filter @s2s/loadtest bench          (or `pnpm bench`, which builds first)
//   BENCH_RATE=5000 BENCH_SECONDS=5 BENCH_ROUNDS=4 node bench/efficiency.bench.mjs
//
// The target (bench/trivial-target.mjs: raw TCP, one pre-built caller-style JSON answer, so the
// target's CPU is as small as HTTP/1.1 allows) runs pinned to the last CPU,
// generators to CPU 0 (parts 1 and 2) with taskset; CPU is the generator's user + system time
// from /usr/bin/time, process start and report included (both tools pay theirs). Every run is
// bounded by its duration plus a kill timer. Speed is never asserted: these are figures.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const cli = join(packageDir, 'dist', 'cli.js');
const autocannonBin = join(packageDir, 'node_modules', 'autocannon', 'autocannon.js');
const RATE = Number(process.env.BENCH_RATE ?? 5000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const LADDER = (process.env.BENCH_LADDER ?? '10000,15000,20000,25000').split(',').map(Number);
const LADDER_SECONDS = Number(process.env.BENCH_LADDER_SECONDS ?? 5);
// More connections for the high rates: at 20,000/s, 50 connections leave 2.5 ms per round trip.
const LADDER_CONNECTIONS = Number(process.env.BENCH_LADDER_CONNECTIONS ?? 200);
const WORKERS_RATE = Number(process.env.BENCH_WORKERS_RATE ?? 30000);
const MAX_SEND_LAG_P99_MS = 10;
const BODY = '{"id":"bench-1","payload":"s2s-loadtest"}';
// trivial-target.mjs (raw TCP, one pre-built answer): on 2 shared cores a node:http target gives
// out first. BENCH_TARGET=target-server.mjs uses the node:http one.
const TARGET = process.env.BENCH_TARGET ?? 'trivial-target.mjs';
const PARTS = new Set((process.env.BENCH_PARTS ?? 'cpu,ladder,workers').split(','));

const cpus = availableParallelism();
const generatorCpu = '0';
const targetCpu = String(Math.max(0, cpus - 1));
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

for (const [file, hint] of [
  [cli, 'build first: pnpm --filter @s2s/loadtest build'],
  [autocannonBin, 'pnpm install (autocannon is a devDependency of @s2s/loadtest)'],
  ['/usr/bin/time', 'apt-get install -y time'],
]) {
  if (!existsSync(file)) {
    console.error(`${file} is missing: ${hint}`);
    process.exit(1);
  }
}

const work = await mkdtemp(join(tmpdir(), 's2s-loadtest-efficiency-'));
const target = await startTarget();
const url = `http://127.0.0.1:${target.port}/caller/messages`;
console.log(
  `target ${TARGET} at ${url} on CPU ${targetCpu}; ${cpus} CPUs; node ${process.version}`,
);
console.log(`load average at the start: ${load()} (1, 5, 15 min; other work skews every figure)`);

try {
  if (PARTS.has('cpu')) await cpuPerRequest();
  if (PARTS.has('ladder')) await oneCoreLadder();
  if (PARTS.has('workers')) await workersScaling();
} finally {
  target.stop();
  await rm(work, { recursive: true, force: true });
}
console.log(`\nload average at the end: ${load()}`);

async function cpuPerRequest() {
  console.log(
    `\n## 1. CPU per request at ${RATE}/s for ${SECONDS}s, ${CONNECTIONS} connections, CPU ${generatorCpu}, ${ROUNDS} rounds (alternating order)\n`,
  );
  console.log(
    '| round | first | s2s-loadtest µs/req | its rate/s | autocannon µs/req | its rate/s | ratio (ours / autocannon) | load avg |',
  );
  console.log('|---:|---|---:|---:|---:|---:|---:|---|');
  const ratios = [];
  const ours = [];
  const theirs = [];
  // "At the same fixed rate" holds only when both reached it: a starved run (less CPU from the
  // machine) spreads its start-up over fewer requests and is reported, but not compared.
  const atRate = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const oursFirst = round % 2 === 0;
    const runs = {};
    for (const tool of oursFirst ? ['ours', 'autocannon'] : ['autocannon', 'ours']) {
      runs[tool] =
        tool === 'ours'
          ? await runOurs(RATE, SECONDS, { pin: true })
          : await runAutocannon(RATE, SECONDS);
    }
    const a = runs.ours.cpuMicrosPerRequest;
    const b = runs.autocannon.cpuMicrosPerRequest;
    ratios.push(a / b);
    ours.push(a);
    theirs.push(b);
    const bothAtRate = runs.ours.achieved >= RATE * 0.95 && runs.autocannon.achieved >= RATE * 0.95;
    if (bothAtRate) atRate.push(a / b);
    console.log(
      `| ${round + 1} | ${oursFirst ? 's2s-loadtest' : 'autocannon'} | ${a.toFixed(1)} | ${runs.ours.achieved.toFixed(0)} | ${b.toFixed(1)} | ${runs.autocannon.achieved.toFixed(0)} | ${(a / b).toFixed(2)}${bothAtRate ? '' : ' (not both at the rate)'} | ${load()} |`,
    );
  }
  console.log(
    `\nratio: median ${median(ratios).toFixed(2)}, min ${Math.min(...ratios).toFixed(2)}, max ${Math.max(...ratios).toFixed(2)} ` +
      `(target ≤ 1.2); s2s-loadtest median ${median(ours).toFixed(1)} µs/req (${spread(ours)}), ` +
      `autocannon median ${median(theirs).toFixed(1)} µs/req (${spread(theirs)})`,
  );
  console.log(
    atRate.length === 0
      ? 'no round where both reached ≥ 95% of the rate: no comparison at the same rate'
      : `rounds where both reached ≥ 95% of the rate (${atRate.length} of ${ROUNDS}): ratio median ${median(atRate).toFixed(2)}, ${spread(atRate, 2)}`,
  );
}

async function oneCoreLadder() {
  console.log(
    `\n## 2. One s2s-loadtest process on one core (CPU ${generatorCpu}), ${LADDER_SECONDS}s per step, ${LADDER_CONNECTIONS} connections, sustained = ≥ 97% of the rate and send-lag p99 ≤ ${MAX_SEND_LAG_P99_MS} ms\n`,
  );
  console.log(
    '| target/s | achieved/s | CPU (% of 1 core) | µs CPU/req | send lag p50 | send lag p99 | latency p99 | sustained | load avg |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|:---:|---|');
  let best = null;
  for (const rate of LADDER) {
    const run = await runOurs(rate, LADDER_SECONDS, { pin: true, connections: LADDER_CONNECTIONS });
    const sustained = run.achieved >= rate * 0.97 && run.sendLagP99 <= MAX_SEND_LAG_P99_MS;
    if (sustained) best = rate;
    console.log(
      `| ${rate} | ${run.achieved.toFixed(0)} | ${pct(run.cpuSeconds / run.wallSeconds)} | ${run.cpuMicrosPerRequest.toFixed(1)} | ${ms(run.sendLagP50)} | ${ms(run.sendLagP99)} | ${ms(run.p99)} | ${sustained ? 'yes' : 'no'} | ${load()} |`,
    );
  }
  console.log(
    `\nhighest sustained on one core: ${best === null ? 'none of the steps' : `${best}/s`}`,
  );
}

async function workersScaling() {
  console.log(
    `\n## 3. --workers 2 vs one process at ${WORKERS_RATE}/s for ${LADDER_SECONDS}s, ${LADDER_CONNECTIONS} connections per process (not pinned: the target shares the ${cpus} CPUs)\n`,
  );
  console.log('| round | processes | achieved/s | µs CPU/req | send lag p99 | load avg |');
  console.log('|---:|---:|---:|---:|---:|---|');
  const ratios = [];
  for (let round = 0; round < 2; round += 1) {
    const order = round % 2 === 0 ? [1, 2] : [2, 1];
    const achieved = {};
    for (const workers of order) {
      const run = await runOurs(WORKERS_RATE, LADDER_SECONDS, {
        pin: false,
        workers,
        connections: LADDER_CONNECTIONS,
      });
      achieved[workers] = run.achieved;
      console.log(
        `| ${round + 1} | ${workers} | ${run.achieved.toFixed(0)} | ${run.cpuMicrosPerRequest.toFixed(1)} | ${ms(run.sendLagP99)} | ${load()} |`,
      );
    }
    ratios.push(achieved[2] / achieved[1]);
  }
  console.log(
    `\n--workers 2 / one process, achieved rate: ${ratios.map((r) => r.toFixed(2)).join(', ')} (target ≥ 1.7)`,
  );
}

async function runOurs(rate, seconds, { pin, workers, connections = CONNECTIONS }) {
  const json = join(work, `ours-${rate}-${Date.now()}.json`);
  const args = [
    cli,
    '--url',
    url,
    '--rate',
    String(rate),
    '--duration',
    `${seconds}s`,
    '--warmup',
    '0',
    '--connections',
    String(connections),
    '--breaker-events',
    'off',
    '--max-send-lag',
    '1h',
    '--json',
    json,
  ];
  if (workers !== undefined && workers > 1) args.push('--workers', String(workers));
  const run = await timed(process.execPath, args, pin, seconds);
  const report = JSON.parse(await readFile(json, 'utf8'));
  return {
    achieved: report.rate,
    requests: report.completed,
    cpuSeconds: run.cpuSeconds,
    wallSeconds: run.wallSeconds,
    cpuMicrosPerRequest: (run.cpuSeconds * 1e6) / Math.max(1, report.completed),
    sendLagP50: report.generator.sendLagMs.p50,
    sendLagP99: report.generator.sendLagMs.p99,
    p99: report.latencyMs.p99,
  };
}

async function runAutocannon(rate, seconds) {
  const run = await timed(
    process.execPath,
    [
      autocannonBin,
      '-c',
      String(CONNECTIONS),
      '-d',
      String(seconds),
      '-R',
      String(rate),
      '-m',
      'POST',
      '-H',
      'content-type=application/json',
      '-b',
      BODY,
      '-j',
      url,
    ],
    true,
    seconds,
  );
  const result = JSON.parse(run.stdout);
  return {
    achieved: result.requests.total / result.duration,
    requests: result.requests.total,
    cpuSeconds: run.cpuSeconds,
    wallSeconds: run.wallSeconds,
    cpuMicrosPerRequest: (run.cpuSeconds * 1e6) / Math.max(1, result.requests.total),
  };
}

/** Runs a generator (pinned to CPU 0 when asked) under /usr/bin/time: its output and CPU seconds. */
function timed(command, args, pin, seconds) {
  const timeFile = join(work, `time-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  const wrapped = pin ? ['taskset', '-c', generatorCpu, command, ...args] : [command, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', '%U %S %e', '-o', timeFile, ...wrapped], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const killer = setTimeout(() => child.kill('SIGKILL'), (seconds + 60) * 1000);
    child.on('close', async (code) => {
      clearTimeout(killer);
      // 3: the CLI judged its own measurement invalid; the CPU figures still stand.
      if (code !== 0 && code !== 3) {
        reject(new Error(`${command} exited ${code}: ${stderr.slice(-500)}`));
        return;
      }
      const [user, system, wall] = (await readFile(timeFile, 'utf8'))
        .trim()
        .split(/\s+/)
        .slice(-3)
        .map(Number);
      resolve({ stdout, stderr, cpuSeconds: user + system, wallSeconds: wall });
    });
  });
}

function startTarget() {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'taskset',
      ['-c', targetCpu, process.execPath, join(packageDir, 'bench', TARGET)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    child.once('error', reject);
    child.stdout.once('data', (chunk) =>
      resolve({ port: Number(String(chunk).trim()), stop: () => child.kill('SIGTERM') }),
    );
  });
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function spread(values, digits = 1) {
  return `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;
}

function ms(value) {
  return Number.isFinite(value) ? `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms` : 'n/a';
}

function pct(ratio) {
  return `${(ratio * 100).toFixed(0)}%`;
}
