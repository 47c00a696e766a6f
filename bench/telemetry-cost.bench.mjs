// What telemetry costs the caller (issue 18, items 1 and 3), side by side in one run, every
// caller a fresh `node [--import @s2s/telemetry/register] apps/caller/dist/server.js` in front of
// one producer without telemetry, exporting (where it does) to a loopback OTLP/HTTP sink in this
// process. LOG_LEVEL=info: one access line per request, which telemetry stamps with trace ids.
//
// Phase A, saturated, alternating (target 1): `no exporter` (telemetry loaded, no OTLP endpoint)
// against `disabled` (OTEL_SDK_DISABLED=true), 32 connections, every request carrying a sampled
// W3C traceparent (the worst case without an exporter: extract, continue, correlate the logs,
// write it onwards). Each round measures both back to back, order alternating; the ratio is the
// median of per-round ratios with its distribution-free interval. Target: ≥ 0.97.
// BENCH_CALIBRATE=1 puts a second `disabled` caller in the `no exporter` place: how far its ratio
// lands from 1 is this phase's own error on this machine.
//
// Phase B, fixed rate, all at once (target 3): every configuration at BENCH_RATE req/s (below
// saturation, all in the same seconds, so they share whatever else the machine does), no incoming
// trace context (the sampler decides at the root). CPU time per request from /proc, per round;
// the ratio to `off` (telemetry not loaded) is the median of per-round ratios. `off (2nd)` is a
// second identical `off` process: how far it reads from 1 is this phase's own error.
// Targets: 10 % sampled and exported ≤ 1.10 × off's CPU per request, 100 % ≤ 1.25 ×.
//
//   node bench/telemetry-cost.bench.mjs
//   BENCH_ROUNDS=9 BENCH_DURATION_S=3 BENCH_WARMUP_S=16 BENCH_RATE=250 BENCH_PHASES=AB node bench/telemetry-cost.bench.mjs
import { formatInterval, median, medianInterval, verdict } from '@s2s/test-support/median-interval';
import autocannon from 'autocannon';
import {
  PRODUCER,
  cpuMs,
  loadAverage,
  requireBuiltApps,
  startApp,
  startCaller,
  startOtlpSink,
  telemetryConfig,
  wholeNumber,
} from './support.mjs';

const ROUNDS = wholeNumber('BENCH_ROUNDS', 9, 1, 100);
const DURATION_S = wholeNumber('BENCH_DURATION_S', 3, 1, 60);
const WARMUP_S = wholeNumber('BENCH_WARMUP_S', 16, 0, 120);
const CONNECTIONS = wholeNumber('BENCH_CONNECTIONS', 32, 1, 512);
const RATE = wholeNumber('BENCH_RATE', 250, 10, 5000);
const CALIBRATE = wholeNumber('BENCH_CALIBRATE', 0, 0, 1) === 1;
const PHASES = process.env.BENCH_PHASES ?? 'AB';
if (!/^[AB]+$/.test(PHASES)) {
  console.error(`BENCH_PHASES must be A, B or AB, got "${PHASES}"`);
  process.exit(2);
}
requireBuiltApps();

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const body = JSON.stringify({ id: 'bench-1', payload: 'hello from the benchmark' });

function load(origin, { duration, connections, overallRate, traceparent }) {
  return autocannon({
    url: `${origin}/caller/messages`,
    method: 'POST',
    connections,
    duration,
    ...(overallRate ? { overallRate } : {}),
    headers: {
      'content-type': 'application/json',
      ...(traceparent ? { traceparent: TRACEPARENT } : {}),
    },
    body,
  });
}

/** Load `caller` and return req/s, CPU µs per request and failures. */
async function measure(caller, options) {
  const before = cpuMs(caller.pid);
  const result = await load(caller.origin, options);
  const total = result.requests.total;
  return {
    rps: result.requests.average,
    cpuUs: ((cpuMs(caller.pid) - before) * 1000) / Math.max(1, total),
    bad: result.non2xx + result.errors + result.timeouts,
  };
}

console.log(`load average at start: ${loadAverage()}`);
const sink = await startOtlpSink();
const producer = await startApp('producer', PRODUCER, { env: { LOG_LEVEL: 'warn' } });

async function startConfig(label, config) {
  const { register, env } = telemetryConfig(config, sink);
  return { label, caller: await startCaller(label, producer, { register, env }) };
}

if (PHASES.includes('A')) {
  const subjectName = CALIBRATE ? 'disabled (2nd)' : 'no exporter';
  const subject = await startConfig(subjectName, CALIBRATE ? 'disabled' : 'no exporter');
  const baseline = await startConfig('disabled', 'disabled');
  const options = { duration: DURATION_S, connections: CONNECTIONS, traceparent: true };
  console.log(
    `\nphase A: ${subjectName} vs disabled, saturated, ${CONNECTIONS} connections, sampled traceparent on every request; ` +
      `${WARMUP_S} s warm-up each, ${ROUNDS} rounds × ${DURATION_S} s each`,
  );
  for (let done = 0; done < WARMUP_S; done += 2) {
    for (const { caller } of [subject, baseline]) {
      await load(caller.origin, { ...options, duration: Math.min(2, WARMUP_S - done) });
    }
  }
  const ratios = [];
  const cpuRatios = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 ? [subject, baseline] : [baseline, subject];
    const measured = new Map();
    for (const entry of order) measured.set(entry, await measure(entry.caller, options));
    const s = measured.get(subject);
    const b = measured.get(baseline);
    ratios.push(s.rps / b.rps);
    cpuRatios.push(b.cpuUs / s.cpuUs);
    console.log(
      `  round ${String(round).padStart(2)}: ${subjectName} ${s.rps.toFixed(0)} req/s ${s.cpuUs.toFixed(0)} µs CPU/req, ` +
        `disabled ${b.rps.toFixed(0)} req/s ${b.cpuUs.toFixed(0)} µs CPU/req` +
        (s.bad + b.bad ? ` (non-2xx/errors ${s.bad + b.bad})` : ''),
    );
  }
  const ratio = medianInterval(ratios);
  console.log(
    `phase A: throughput ratio ${subjectName}/disabled = ${formatInterval(ratio)}; ` +
      (CALIBRATE
        ? `identical services: should read 1 (interval ${ratio.low <= 1 && ratio.high >= 1 ? 'contains' : 'misses'} 1)`
        : `target ≥ 0.97: ${verdict(ratio, 0.97)}`),
  );
  console.log(
    `phase A: CPU-cost ratio disabled/${subjectName} = ${formatInterval(medianInterval(cpuRatios))}`,
  );
  await subject.caller.stop();
  await baseline.caller.stop();
}

if (PHASES.includes('B')) {
  const configs = [
    ['off', 'off'],
    ['off (2nd)', 'off'],
    ['disabled', 'disabled'],
    ['no exporter', 'no exporter'],
    ['10%', '10%'],
    ['100%', '100%'],
  ];
  const started = [];
  for (const [label, config] of configs) started.push(await startConfig(label, config));
  const perRequestConnections = Math.max(4, Math.min(CONNECTIONS, Math.ceil(RATE / 50)));
  console.log(
    `\nphase B: ${configs.map(([label]) => label).join(', ')} at ${RATE} req/s each, all at once, ` +
      `no incoming trace context; ${WARMUP_S} s warm-up, ${ROUNDS} rounds × ${DURATION_S} s`,
  );
  const runAll = (duration) =>
    Promise.all(
      started.map(({ caller }) =>
        measure(caller, { duration, connections: perRequestConnections, overallRate: RATE }),
      ),
    );
  if (WARMUP_S > 0) await runAll(WARMUP_S);
  const cpu = started.map(() => []);
  for (let round = 1; round <= ROUNDS; round++) {
    const results = await runAll(DURATION_S);
    results.forEach((result, index) => cpu[index].push(result.cpuUs));
    console.log(
      `  round ${String(round).padStart(2)}: ` +
        results
          .map(
            (result, index) =>
              `${started[index].label} ${result.cpuUs.toFixed(0)} µs` +
              (result.bad ? ` (${result.bad} bad)` : ''),
          )
          .join(', ') +
        ` (load ${loadAverage().split(' ')[0]})`,
    );
  }
  const targets = { '10%': 1.1, '100%': 1.25 };
  console.log(
    'phase B: CPU per request (median of rounds) and its ratio to off (median of per-round ratios)',
  );
  for (const [index, { label }] of started.entries()) {
    const line = `  ${label.padEnd(12)} ${median(cpu[index]).toFixed(0).padStart(5)} µs CPU/req`;
    if (index === 0) {
      console.log(line);
      continue;
    }
    const ratio = medianInterval(cpu[index].map((value, round) => value / cpu[0][round]));
    const target = targets[label];
    // verdict() asks "low end ≥ target", so a ceiling is judged on the inverted ratio.
    const judged =
      target === undefined
        ? ''
        : `; target ≤ ${target.toFixed(2)}: ${verdict(
            medianInterval(cpu[index].map((value, round) => cpu[0][round] / value)),
            1 / target,
          )}`;
    console.log(`${line}  ×off ${formatInterval(ratio)}${judged}`);
  }
  const byDisabled = medianInterval(cpu[3].map((value, round) => cpu[2][round] / value));
  console.log(
    `  disabled/no exporter CPU ratio ${formatInterval(byDisabled)} (target 1 seen at a fixed rate: ≥ 0.97)`,
  );
  for (const { caller } of started) await caller.stop();
}
console.log(
  `\nOTLP sink received ${sink.stats.requests} exports, ${(sink.stats.bytes / 1024).toFixed(0)} KiB`,
);
console.log(`load average at end: ${loadAverage()}`);
await producer.stop();
await sink.close();
