import http from 'node:http';
import type net from 'node:net';
import { freePort } from '@s2s/test-support/free-port';
import { afterEach, describe, expect, it } from 'vitest';
import { ClustersetBalancer } from '../src/clusterset-balancer.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A replica whose readiness can be switched; answers its name on any other path. */
async function replica(
  name: string,
): Promise<{ port: number; setReady: (ready: boolean) => void }> {
  let ready = true;
  const server = http.createServer((request, response) => {
    if (request.url === '/readyz') {
      response.writeHead(ready ? 200 : 503).end();
      return;
    }
    response.writeHead(200, { connection: 'close' }).end(name);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as net.AddressInfo).port, setReady: (value) => (ready = value) };
}

async function get(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
  return response.text();
}

async function balancerFor(replicas: Array<{ name: string; port: number }>, listenPort: number) {
  const balancer = new ClustersetBalancer({
    listen: [{ host: '127.0.0.1', port: listenPort }],
    endpoints: replicas.map((r) => ({ name: r.name, host: '127.0.0.1', port: r.port })),
    probeIntervalMs: 50,
    failureThreshold: 2,
  });
  await balancer.listen();
  cleanups.push(() => balancer.close());
  return balancer;
}

describe('ClustersetBalancer', () => {
  it('spreads new connections over the ready replicas and stops sending to one whose readiness fails', async () => {
    const a = await replica('a');
    const b = await replica('b');
    const port = await freePort();
    const balancer = await balancerFor(
      [
        { name: 'a', port: a.port },
        { name: 'b', port: b.port },
      ],
      port,
    );
    await expect
      .poll(() => balancer.endpoints().every((e) => e.ready), { timeout: 5000 })
      .toBe(true);
    const seen = new Set<string>();
    for (let i = 0; i < 6; i += 1) seen.add(await get(port));
    expect([...seen].sort()).toEqual(['a', 'b']);

    a.setReady(false);
    await expect.poll(() => balancer.endpoints()[0]!.ready, { timeout: 5000 }).toBe(false);
    const after = new Set<string>();
    for (let i = 0; i < 6; i += 1) after.add(await get(port));
    expect([...after]).toEqual(['b']);
  });

  it('refuses a new connection when no replica is ready, like a Service without endpoints', async () => {
    const a = await replica('a');
    a.setReady(false);
    const port = await freePort();
    const balancer = await balancerFor([{ name: 'a', port: a.port }], port);
    await expect(get(port)).rejects.toThrow();
    expect(balancer.refusedNoEndpoint).toBeGreaterThanOrEqual(1);
  });
});
