import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { LinkShaper } from '../src/link-shaper.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An echo server standing in for cluster-2. */
async function echoServer(): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return (server.address() as net.AddressInfo).port;
}

async function shaperTo(
  port: number,
  rttMs: number,
  jitterMs = 0,
): Promise<{ shaper: LinkShaper; port: number }> {
  const shaper = new LinkShaper({
    listen: { host: '127.0.0.1', port: 0 },
    target: { host: '127.0.0.1', port },
    rttMs,
    jitterMs,
  });
  const address = await shaper.listen();
  cleanups.push(() => shaper.close());
  return { shaper, port: address.port };
}

async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  cleanups.push(() => void socket.destroy());
  return socket;
}

/** Sends `text` and resolves with the echo's round-trip time, or null after `timeoutMs`. */
function echoRoundTrip(
  socket: net.Socket,
  text: string,
  timeoutMs: number,
): Promise<number | null> {
  return new Promise((resolve) => {
    const started = performance.now();
    let received = '';
    const onData = (chunk: Buffer) => {
      received += chunk.toString();
      if (received.length >= text.length) {
        socket.off('data', onData);
        clearTimeout(timer);
        resolve(performance.now() - started);
      }
    };
    const timer = setTimeout(() => {
      socket.off('data', onData);
      resolve(null);
    }, timeoutMs);
    socket.on('data', onData);
    socket.write(text);
  });
}

describe('LinkShaper', () => {
  it('adds the configured round-trip time to every exchange, keeping byte order', async () => {
    const { port } = await shaperTo(await echoServer(), 80, 5);
    const socket = await connect(port);
    await echoRoundTrip(socket, 'warm-up', 5000); // includes the delayed connect
    const rtt = await echoRoundTrip(socket, 'x'.repeat(1000), 5000);
    expect(rtt).not.toBeNull();
    expect(rtt!).toBeGreaterThanOrEqual(80 - 2 * 5 - 2);
    expect(rtt!).toBeLessThan(80 + 1000);
    let echoed = '';
    socket.on('data', (chunk: Buffer) => (echoed += chunk.toString()));
    for (let i = 0; i < 50; i += 1) socket.write(`${i},`);
    const expected = Array.from({ length: 50 }, (_, i) => `${i},`).join('');
    await expect.poll(() => echoed, { timeout: 5000 }).toBe(expected);
  });

  it('holds traffic while cut in blackhole mode and delivers it after healing', async () => {
    const { shaper, port } = await shaperTo(await echoServer(), 10);
    const socket = await connect(port);
    expect(await echoRoundTrip(socket, 'before', 5000)).not.toBeNull();
    shaper.cut('blackhole');
    const during = echoRoundTrip(socket, 'during', 400);
    expect(await during).toBeNull();
    // A new connection is accepted but nothing crosses.
    const fresh = await connect(port);
    expect(await echoRoundTrip(fresh, 'fresh', 300)).toBeNull();
    shaper.heal();
    let echoed = '';
    fresh.on('data', (chunk: Buffer) => (echoed += chunk.toString()));
    await expect.poll(() => echoed, { timeout: 5000 }).toBe('fresh');
  });

  it('resets existing and new connections when cut in reset mode', async () => {
    const { shaper, port } = await shaperTo(await echoServer(), 10);
    const socket = await connect(port);
    expect(await echoRoundTrip(socket, 'before', 5000)).not.toBeNull();
    const closed = new Promise<string | undefined>((resolve) =>
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code)),
    );
    shaper.cut('reset');
    expect(await closed).toBe('ECONNRESET');
    const fresh = net.connect(port, '127.0.0.1');
    const code = await new Promise<string | undefined>((resolve) =>
      fresh.once('error', (error: NodeJS.ErrnoException) => resolve(error.code)),
    );
    expect(code).toBe('ECONNRESET');
    expect(shaper.stats().connectionsReset).toBeGreaterThanOrEqual(2);
  });

  it('rejects a latency outside 0..60000 ms', async () => {
    const { shaper } = await shaperTo(await echoServer(), 10);
    expect(() => shaper.shape({ rttMs: -1 })).toThrow(/rttMs/);
    expect(shaper.shape({ rttMs: 100, jitterMs: 0 })).toMatchObject({ rttMs: 100, jitterMs: 0 });
  });
});
