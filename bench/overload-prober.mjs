// The kubelet's part in bench/overload.bench.mjs, in its own process so the load generator's
// event loop never delays a probe: GET each path on a new connection every interval, until
// stdin closes; then print the results as one JSON line.
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';

const [origin, intervalMs = '50'] = process.argv.slice(2);
const results = [];
let running = true;
process.stdin.on('end', () => (running = false)).resume();

async function probe(path) {
  const started = performance.now();
  try {
    const response = await request(`${origin}${path}`, {
      reset: true,
      headersTimeout: 2000, // the manifests' probe timeoutSeconds
      bodyTimeout: 2000,
    });
    await response.body.dump();
    return { path, ms: performance.now() - started, status: response.statusCode };
  } catch (error) {
    return { path, ms: performance.now() - started, status: error.code ?? 'error' };
  }
}

while (running) {
  results.push(...(await Promise.all([probe('/livez'), probe('/readyz')])));
  await sleep(Number(intervalMs));
}
process.stdout.write(`${JSON.stringify(results)}\n`);
