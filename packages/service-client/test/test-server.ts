// A real HTTP server on 127.0.0.1:0 that counts what the client does to it.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { buildConnector } from 'undici';

export interface TestServer {
  readonly port: number;
  readonly server: Server;
  /** Sockets accepted so far ('connection' events). */
  readonly accepted: () => number;
  /** Sockets currently open on the server side. */
  readonly open: () => number;
  /** Requests received so far. */
  readonly requests: () => number;
  /** Requests served on this request's socket before it (0 on a fresh connection). */
  readonly priorRequestsOn: (req: IncomingMessage) => number;
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, server: TestServer) => void;

export async function startTestServer(handler: Handler): Promise<TestServer> {
  let accepted = 0;
  let requests = 0;
  const sockets = new Set<Socket>();
  const perSocket = new WeakMap<Socket, number>();
  const server = createServer({ keepAliveTimeout: 60_000 });
  server.on('connection', (socket: Socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const testServer: TestServer = {
    get port() {
      return (server.address() as AddressInfo).port;
    },
    server,
    accepted: () => accepted,
    open: () => sockets.size,
    requests: () => requests,
    priorRequestsOn: (req) => (perSocket.get(req.socket) ?? 1) - 1,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    requests += 1;
    perSocket.set(req.socket, (perSocket.get(req.socket) ?? 0) + 1);
    handler(req, res, testServer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return testServer;
}

/** Answers JSON with the given status after reading the request body. */
export function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Reads the whole request body as text. */
export async function readBody(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return text;
}

/**
 * Stands in for a ClusterSetIP in front of several endpoints: each NEW connection goes to one of
 * `ports()` (as kube-proxy's DNAT picks an endpoint per connection: iptables mode at random, IPVS
 * round robin), whatever host and port the URL names. A dead port refuses the connect, as a killed
 * pod's does. `targets` counts the connections opened per port.
 */
export function rotatingConnector(
  ports: () => readonly number[],
  pick: 'random' | 'round-robin',
): { connect: buildConnector.connector; targets: Map<number, number> } {
  const base = buildConnector({ timeout: 1000 });
  const targets = new Map<number, number>();
  let next = 0;
  // A seeded generator (mulberry32): the same sequence of draws on every run, so a test's
  // outcome does not hang on Math.random.
  let seed = 0x5eed;
  const random = (): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const connect: buildConnector.connector = (options, callback) => {
    const list = ports();
    const index = pick === 'random' ? Math.floor(random() * list.length) : next++ % list.length;
    const port = list[index] as number;
    targets.set(port, (targets.get(port) ?? 0) + 1);
    return base({ ...options, hostname: '127.0.0.1', port: String(port) }, callback);
  };
  return { connect, targets };
}
