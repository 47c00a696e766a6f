import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { IngressGateway } from '../src/ingress-gateway.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return (server.address() as net.AddressInfo).port;
}

async function gatewayTo(upstreamPort: number): Promise<{ port: number; gateway: IngressGateway }> {
  const probe = http.createServer();
  const port = await listen(probe);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  cleanups.pop();
  const gateway = new IngressGateway({
    listen: { host: '127.0.0.1', port },
    upstream: { host: '127.0.0.1', port: upstreamPort },
  });
  await gateway.listen();
  cleanups.push(() => gateway.close());
  return { port, gateway };
}

describe('IngressGateway', () => {
  it('forwards method, path, body and headers and adds forwarding headers', async () => {
    const upstream = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        response.writeHead(201, { 'content-type': 'application/json', 'x-upstream': 'yes' });
        response.end(
          JSON.stringify({
            method: request.method,
            url: request.url,
            body: Buffer.concat(chunks).toString(),
            headers: request.headers,
          }),
        );
      });
    });
    const { port } = await gatewayTo(await listen(upstream));
    const response = await fetch(`http://127.0.0.1:${port}/caller/messages?x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"payload":"hi"}',
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-upstream')).toBe('yes');
    const seen = (await response.json()) as {
      method: string;
      url: string;
      body: string;
      headers: Record<string, string>;
    };
    expect(seen).toMatchObject({
      method: 'POST',
      url: '/caller/messages?x=1',
      body: '{"payload":"hi"}',
    });
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sends a request once more when the pooled upstream connection is reset under it', async () => {
    // A raw upstream: its first connection answers one request, then resets when the next
    // request arrives on it (the idle-close race); later connections answer everything.
    let connections = 0;
    let answered = 0;
    const upstream = net.createServer((socket) => {
      connections += 1;
      const first = connections === 1;
      let requestsOnSocket = 0;
      socket.on('error', () => {});
      socket.on('data', () => {
        requestsOnSocket += 1;
        if (first && requestsOnSocket === 2) {
          socket.resetAndDestroy();
          return;
        }
        answered += 1;
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nkeep-alive: timeout=60\r\n\r\nok');
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => upstream.close(() => resolve())));
    const { port, gateway } = await gatewayTo((upstream.address() as net.AddressInfo).port);
    for (let i = 0; i < 3; i += 1) {
      const response = await fetch(`http://127.0.0.1:${port}/`);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('ok');
    }
    expect(gateway.retries).toBe(1);
    expect(answered).toBe(3);
  });

  it('answers 503 when the upstream cannot be reached', async () => {
    const closed = http.createServer();
    const upstreamPort = await listen(closed);
    await cleanups.pop()!();
    const { port } = await gatewayTo(upstreamPort);
    const response = await fetch(`http://127.0.0.1:${port}/`);
    expect(response.status).toBe(503);
  });
});
