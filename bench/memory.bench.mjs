// Caller memory (issue 18, item 4): resident set size of `apps/caller/dist/server.js` idle after
// start-up, and its peak with 1,000 calls in flight (1,000 client connections, each call held
// BENCH_DELAY_MS at the producer; PRODUCER_MAX_IN_FLIGHT=1000 so every one of them is a call in
// flight to the producer, the worst case, rather than an `overloaded` answer at once).
// For each telemetry configuration (off = not loaded, disabled, no exporter, 10 % exported to a
// loopback OTLP sink), started with and without the node flags of the image's CMD
// (`--max-semi-space-size=2`: see the README, "Memory"). RSS is read from /proc/PID/status
// (VmRSS idle, VmHWM at peak); each configuration is started BENCH_STARTS times and the median
// is shown with the spread (min–max), which is this bench's own error.
// Targets: idle ≤ 100 MB and ≤ 150 MB with 1,000 calls in flight, telemetry on (10 %).
//
//   node bench/memory.bench.mjs
//   BENCH_STARTS=3 BENCH_CALLS=1000 BENCH_DELAY_MS=2000 BENCH_IDLE_MS=4000 node bench/memory.bench.mjs
import { setTimeout as sleep } from 'node:timers/promises';
import { median } from '@s2s/test-support/median-interval';
import { Agent, request } from 'undici';
import {
  PRODUCER,
  loadAverage,
  requireBuiltApps,
  rssMb,
  startApp,
  startCaller,
  startOtlpSink,
  telemetryConfig,
  wholeNumber,
} from './support.mjs';

const STARTS = wholeNumber('BENCH_STARTS', 3, 1, 20);
const CALLS = wholeNumber('BENCH_CALLS', 1000, 1, 5000);
const DELAY_MS = wholeNumber('BENCH_DELAY_MS', 2000, 100, 20_000);
const IDLE_MS = wholeNumber('BENCH_IDLE_MS', 4000, 500, 60_000);
/** The node flags the image's CMD and `pnpm start` add (apps/caller/Dockerfile). */
export const DEPLOYED_NODE_FLAGS = ['--max-semi-space-size=2'];
const FLAG_SETS = [
  ['node defaults', []],
  ['as deployed', DEPLOYED_NODE_FLAGS],
];
requireBuiltApps();

console.log(
  `caller RSS: idle ${IDLE_MS / 1000} s after ready, and peak with ${CALLS} calls in flight ` +
    `(${DELAY_MS} ms each at the producer); ${STARTS} starts per configuration; load average ${loadAverage()}`,
);
const sink = await startOtlpSink();
const producer = await startApp('producer', PRODUCER, {
  env: { LOG_LEVEL: 'warn', MAX_DELAY_MS: '60000' },
});

/** `CALLS` concurrent calls, each on its own connection; resolves with the caller's peak RSS. */
async function inFlightPeak(caller) {
  const agent = new Agent({ connections: CALLS, pipelining: 1, keepAliveTimeout: 1000 });
  const body = JSON.stringify({ payload: 'memory', delay: DELAY_MS });
  let peak = 0;
  let done = false;
  const sampler = (async () => {
    while (!done) {
      peak = Math.max(peak, rssMb(caller.pid).rss);
      await sleep(50);
    }
  })();
  const statuses = new Map();
  await Promise.all(
    Array.from({ length: CALLS }, async () => {
      const answer = await request(`${caller.origin}/caller/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        dispatcher: agent,
        headersTimeout: DELAY_MS + 30_000,
      }).catch((error) => ({ statusCode: error.code ?? 'error', body: null }));
      await answer.body?.dump();
      statuses.set(answer.statusCode, (statuses.get(answer.statusCode) ?? 0) + 1);
    }),
  );
  done = true;
  await sampler;
  await agent.close();
  return { peak, statuses };
}

const rows = [];
for (const config of ['off', 'disabled', 'no exporter', '10%']) {
  for (const [flagsName, nodeArgs] of FLAG_SETS) {
    const idle = [];
    const peaks = [];
    // The answers of the last start (whether every call really was in flight).
    let statuses;
    for (let start = 0; start < STARTS; start++) {
      const { register, env } = telemetryConfig(config, sink);
      const caller = await startCaller(config, producer, {
        register,
        nodeArgs: ['--enable-source-maps', ...nodeArgs],
        env: {
          ...env,
          PRODUCER_MAX_IN_FLIGHT: String(CALLS),
          PRODUCER_TIMEOUT_MS: String(DELAY_MS + 3000),
          MAX_DELAY_MS: '60000',
        },
      });
      await sleep(IDLE_MS);
      idle.push(rssMb(caller.pid).rss);
      const result = await inFlightPeak(caller);
      peaks.push(result.peak);
      statuses = result.statuses;
      await caller.stop();
    }
    const range = (values) =>
      `${median(values).toFixed(1)} MB (${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)})`;
    const line = `${config.padEnd(12)} ${flagsName.padEnd(14)} idle ${range(idle)}   ${CALLS} in flight: peak ${range(peaks)}   answers ${JSON.stringify(Object.fromEntries(statuses))}`;
    console.log(line);
    rows.push({
      config,
      flagsName,
      idle: median(idle),
      peak: median(peaks),
      allInFlight: statuses.size === 1 && statuses.get(200) === CALLS,
    });
  }
}
const deployed = rows.find((row) => row.config === '10%' && row.flagsName === 'as deployed');
console.log(
  `telemetry on (10 %), as deployed: idle ${deployed.idle.toFixed(1)} MB (target ≤ 100: ${deployed.idle <= 100 ? 'met' : 'missed'}), ` +
    `${CALLS} in flight ${deployed.peak.toFixed(1)} MB (target ≤ 150: ${
      deployed.allInFlight
        ? deployed.peak <= 150
          ? 'met'
          : 'missed'
        : 'not measured: admission answered some calls 503 at once, so fewer were in flight'
    }); load average ${loadAverage()}`,
);
await producer.stop();
await sink.close();
