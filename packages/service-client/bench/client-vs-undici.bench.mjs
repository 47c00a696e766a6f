// @s2s/service-client vs raw undici `Agent.request` on an equally configured Agent, against the same
// local upstream (a separate process), with the same fixed concurrency. The two sides run in
// alternating rounds so drift on a shared machine hits both alike. Prints throughput, p50/p99 and the
// client/raw ratios. Target: throughput ratio >= 0.90.
//
//   pnpm --filter @s2s/service-client bench            (builds first via turbo: `pnpm bench`)
//   BENCH_ROUND_MS=1500 BENCH_ROUNDS=4 BENCH_CONCURRENCY=32 node bench/client-vs-undici.bench.mjs
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import { Agent } from 'undici';
import { createServiceClient } from '../dist/index.js';

// Many short paired rounds: a burst of load from another process spoils a few pairs, not the median.
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 400);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 16); // per side: 16 x 0.4 s = 6.4 s measured each
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const payload = { id: 'bench-1', payload: 'x'.repeat(256) };

const upstream = spawn(
  process.execPath,
  [fileURLToPath(new URL('./upstream-server.mjs', import.meta.url))],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const [firstLine] = await once(upstream.stdout, 'data');
const port = Number(String(firstLine).trim());
const origin = `http://127.0.0.1:${port}`;

// The client's defaults, spelled out for the raw Agent (see src/service-client.ts).
const raw = new Agent({
  connections: 128,
  pipelining: 1,
  connectTimeout: 1000,
  headersTimeout: 4000,
  bodyTimeout: 4000,
  keepAliveTimeout: 4000,
  keepAliveMaxTimeout: 4000,
  keepAliveTimeoutThreshold: 1000,
});
const client = createServiceClient({ origin });

let seq = 0;
const sides = {
  raw: async () => {
    const body = JSON.stringify(payload);
    const res = await raw.request({
      origin,
      path: '/producer/messages',
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': `r${seq++}` },
      body,
    });
    const text = await res.body.text();
    JSON.parse(text);
    if (res.statusCode !== 200) throw new Error(`raw: status ${res.statusCode}`);
  },
  client: async () => {
    const result = await client.call({
      path: '/producer/messages',
      json: payload,
      requestId: `r${seq++}`,
    });
    if (result.outcome !== 'ok') throw new Error(`client: ${result.outcome} ${result.errorCode}`);
  },
};

const stats = {};
for (const name of Object.keys(sides)) {
  stats[name] = {
    requests: 0,
    ms: 0,
    cpuUs: 0,
    histogram: hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 60_000_000,
      numberOfSignificantValueDigits: 3,
    }),
  };
}

const pairRatios = [];
const pairCpuRatios = [];

async function round(name, ms, record) {
  const run = sides[name];
  const end = performance.now() + ms;
  let requests = 0;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        await run();
        if (record) stats[name].histogram.recordValue(Math.round((performance.now() - t0) * 1000));
        requests += 1;
      }
    }),
  );
  const elapsed = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  if (record) {
    stats[name].requests += requests;
    stats[name].ms += elapsed;
    stats[name].cpuUs += cpu.user + cpu.system;
  }
  return { rate: requests / elapsed, cpuPerRequest: (cpu.user + cpu.system) / requests };
}

try {
  await round('raw', WARMUP_MS, false);
  await round('client', WARMUP_MS, false);
  for (let i = 0; i < ROUNDS; i++) {
    // Alternate which side goes first, so neither always runs right after the other's GC debt.
    const order = i % 2 === 0 ? ['raw', 'client'] : ['client', 'raw'];
    const measured = {};
    for (const name of order) measured[name] = await round(name, ROUND_MS, true);
    pairRatios.push(measured.client.rate / measured.raw.rate);
    pairCpuRatios.push(measured.raw.cpuPerRequest / measured.client.cpuPerRequest);
  }
} finally {
  await client.close();
  await raw.close();
  upstream.kill('SIGTERM');
}

const summary = {};
for (const [name, s] of Object.entries(stats)) {
  summary[name] = {
    requests: s.requests,
    rps: Math.round((s.requests / s.ms) * 1000),
    p50Ms: s.histogram.getValueAtPercentile(50) / 1000,
    p99Ms: s.histogram.getValueAtPercentile(99) / 1000,
    cpuUsPerRequest: Math.round((s.cpuUs / s.requests) * 10) / 10,
  };
}
// Each round pair ran back to back, so its ratio is the least disturbed by load from other processes;
// the median of the pair ratios is the headline figure, the ratio of totals is printed beside it.
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return (
    (sorted[Math.floor((sorted.length - 1) / 2)] + sorted[Math.ceil((sorted.length - 1) / 2)]) / 2
  );
}
const medianPairRatio = median(pairRatios);
const medianCpuRatio = median(pairCpuRatios);
const throughputRatio = summary.client.rps / summary.raw.rps;
const p99Ratio = summary.client.p99Ms / summary.raw.p99Ms;
// Client-process CPU per request is far less sensitive to other load on the machine than wall-clock
// rate; raw/client CPU per request is the throughput ratio of a CPU-bound caller.
const cpuRatio = summary.raw.cpuUsPerRequest / summary.client.cpuUsPerRequest;
console.log(
  `service-client vs raw undici: concurrency ${CONCURRENCY}, ${ROUNDS} x ${ROUND_MS} ms per side, node ${process.version}`,
);
console.table(summary);
console.log(
  `throughput ratio (client/raw), median of ${ROUNDS} paired rounds: ${medianPairRatio.toFixed(3)}  (target >= 0.90)`,
);
console.log(
  `throughput ratio (client/raw), totals: ${throughputRatio.toFixed(3)}; pair ratios: ${pairRatios.map((r) => r.toFixed(2)).join(' ')}`,
);
console.log(
  `CPU-bound throughput ratio (raw/client CPU per request), median of pairs: ${medianCpuRatio.toFixed(3)}; totals: ${cpuRatio.toFixed(3)}`,
);
console.log(`p99 ratio (client/raw): ${p99Ratio.toFixed(3)}  (lower is better)`);
console.log(
  JSON.stringify({
    bench: 'service-client-vs-undici',
    concurrency: CONCURRENCY,
    ...summary,
    medianPairRatio,
    throughputRatio,
    cpuRatio,
    p99Ratio,
  }),
);
