// Measures the breaker's trip rule and the safe retry against real upstream processes, for the figures
// in the README ("Circuit breaker") and docs/contract.md. Two upstreams stand in for two producer
// replicas behind a ClusterSetIP: the client's `connect` picks one of them at random per new
// connection, as kube-proxy's iptables DNAT does, so a SIGKILLed one refuses new connections.
//
//   pnpm --filter @s2s/service-client build && node bench/trip-rule.bench.mjs
//   BENCH_RUNS=5 BENCH_RATE=100 BENCH_DELAY_MS=10 node bench/trip-rule.bench.mjs
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { buildConnector } from 'undici';
import { createServiceClient } from '../dist/index.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const RATE = Number(process.env.BENCH_RATE ?? 100); // calls per second
const DELAY_MS = Number(process.env.BENCH_DELAY_MS ?? 10); // upstream think time
const BEFORE_MS = Number(process.env.BENCH_BEFORE_MS ?? 2000);
const AFTER_MS = Number(process.env.BENCH_AFTER_MS ?? 5000);

async function startUpstream() {
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL('./upstream-server.mjs', import.meta.url))],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [line] = await once(child.stdout, 'data');
  return { child, port: Number(String(line).trim()) };
}

function randomConnector(ports) {
  const base = buildConnector({ timeout: 1000 });
  return (options, callback) => {
    const port = ports[Math.floor(Math.random() * ports.length)];
    return base({ ...options, hostname: '127.0.0.1', port: String(port) }, callback);
  };
}

/** Sends calls at a fixed rate (open model) until `durationMs`; `body(t)` gives each call's body. */
async function drive(client, durationMs, body, onEvent) {
  const start = performance.now();
  const calls = [];
  for (let i = 0; ; i++) {
    const at = (i * 1000) / RATE;
    if (at >= durationMs) break;
    const wait = start + at - performance.now();
    if (wait > 0) await sleep(wait);
    onEvent?.(at);
    const t = performance.now() - start;
    calls.push(client.call({ path: '/producer/messages', json: body(t) }).then((r) => ({ t, r })));
  }
  return Promise.all(calls);
}

function summary(results) {
  const byOutcome = {};
  for (const { r } of results) byOutcome[r.outcome] = (byOutcome[r.outcome] ?? 0) + 1;
  return byOutcome;
}

async function replicaLoss() {
  const rows = [];
  for (let run = 1; run <= RUNS; run++) {
    const [a, b] = [await startUpstream(), await startUpstream()];
    const client = createServiceClient({
      origin: 'http://sample-producer.istio-apps.svc.clusterset.local:8080',
      connect: randomConnector([a.port, b.port]),
    });
    const transitions = [];
    client.on('breakerTransition', (t) => transitions.push(`${t.from}->${t.to}`));
    let killed = false;
    const results = await drive(
      client,
      BEFORE_MS + AFTER_MS,
      () => ({ id: 'x', payload: 'p', delay: DELAY_MS }),
      (at) => {
        if (!killed && at >= BEFORE_MS) {
          killed = true;
          a.child.kill('SIGKILL');
        }
      },
    );
    const outcomes = summary(results);
    if (process.env.BENCH_DEBUG)
      console.log(
        results
          .filter(({ r }) => r.outcome !== 'ok')
          .map(
            ({ t, r }) =>
              `${Math.round(t - BEFORE_MS)}ms ${r.errorCode} ${Math.round(r.latencyMs)}ms`,
          )
          .join('\n'),
      );
    const failed = results.filter(({ r }) => r.outcome !== 'ok').length;
    const retried = results.filter(({ r }) => r.retried).length;
    rows.push({
      run,
      calls: results.length,
      failed,
      'failed %': ((100 * failed) / results.length).toFixed(2),
      retried,
      outcomes: JSON.stringify(outcomes),
      'failures (errorCode, retried?)': JSON.stringify(
        Object.fromEntries(
          Object.entries(
            Object.groupBy(
              results.filter(({ r }) => r.outcome !== 'ok'),
              ({ r }) => `${r.errorCode}${r.retried ? '+retry' : ''}`,
            ),
          ).map(([k, v]) => [k, v.length]),
        ),
      ),
      transitions: transitions.join(' ') || 'none',
    });
    await client.close();
    b.child.kill('SIGKILL');
  }
  console.log(
    `\nOne of two replicas SIGKILLed at ${RATE} calls/s (upstream delay ${DELAY_MS} ms), ${BEFORE_MS} ms before, ${AFTER_MS} ms after:`,
  );
  console.table(rows);
}

async function everyEndpointFailing(mode) {
  const rows = [];
  for (let run = 1; run <= RUNS; run++) {
    const [a, b] = [await startUpstream(), await startUpstream()];
    const client = createServiceClient({
      origin: 'http://sample-producer.istio-apps.svc.clusterset.local:8080',
      connect: randomConnector([a.port, b.port]),
    });
    let openedAt = null;
    let failingFrom = null;
    client.on('breakerTransition', (t) => {
      if (t.to === 'open' && openedAt === null) openedAt = performance.now();
    });
    const results = await drive(
      client,
      BEFORE_MS + 2000,
      (t) => ({
        id: 'x',
        payload: 'p',
        delay: DELAY_MS,
        ...(mode === '500' && t >= BEFORE_MS ? { responseCode: 500 } : {}),
      }),
      (at) => {
        if (failingFrom === null && at >= BEFORE_MS) {
          failingFrom = performance.now();
          if (mode === 'killed') {
            a.child.kill('SIGKILL');
            b.child.kill('SIGKILL');
          }
        }
      },
    );
    // Failures the breaker counted (overloaded and circuit_open are neither).
    const failedBeforeOpen = results.filter(
      ({ r }) =>
        r.outcome === 'upstream_error' || r.outcome === 'unreachable' || r.outcome === 'timeout',
    ).length;
    rows.push({
      run,
      'opened after (ms)': openedAt === null ? 'never' : Math.round(openedAt - failingFrom),
      'failed calls before it opened': failedBeforeOpen,
      outcomes: JSON.stringify(summary(results)),
    });
    await client.close();
    a.child.kill('SIGKILL');
    b.child.kill('SIGKILL');
  }
  console.log(
    `\nEvery endpoint failing (${mode === '500' ? 'both answer 500' : 'both SIGKILLed'}) at ${RATE} calls/s:`,
  );
  console.table(rows);
}

async function clickPace() {
  const [a, b] = [await startUpstream(), await startUpstream()];
  const client = createServiceClient({
    origin: 'http://sample-producer.istio-apps.svc.clusterset.local:8080',
    connect: randomConnector([a.port, b.port]),
  });
  const states = [];
  for (let i = 0; i < 4; i++) {
    const r = await client.call({
      path: '/producer/messages',
      json: { id: 'x', payload: 'p', responseCode: 500 },
    });
    states.push(`${r.outcome}/${r.breakerState}`);
    await sleep(500);
  }
  console.log(
    `\nClick pace (one call every 0.5 s, every endpoint answering 500): ${states.join(', ')}`,
  );
  await client.close();
  a.child.kill('SIGKILL');
  b.child.kill('SIGKILL');
}

const only = process.argv[2];
if (!only || only === 'replica-loss') await replicaLoss();
if (!only || only === 'all-500') await everyEndpointFailing('500');
if (!only || only === 'all-killed') await everyEndpointFailing('killed');
if (!only || only === 'click') await clickPace();
