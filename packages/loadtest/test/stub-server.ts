import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubServer {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Requests received so far. */
  received(): number;
  close(): Promise<void>;
}

/**
 * A local HTTP server on 127.0.0.1 and a free port. `respond` gets each request after its body
 * was read, with its 1-based arrival number.
 */
export async function startStub(
  respond: (
    request: IncomingMessage,
    response: ServerResponse,
    arrival: number,
    body: string,
  ) => void,
  options: { breaker?: BreakerFeed } = {},
): Promise<StubServer> {
  let arrivals = 0;
  const server = createServer((request, response) => {
    // The caller's events stream: served by the feed, or absent as on a server that is not the caller.
    if (request.method === 'GET' && request.url === '/caller/events') {
      if (options.breaker) options.breaker.subscribe(response);
      else sendJson(response, 404, { title: 'Not Found', status: 404 });
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      arrivals += 1;
      respond(request, response, arrivals, Buffer.concat(chunks).toString('utf8'));
    });
  });
  // The load test's pool keeps sockets alive for 4 s; the server must not close them first.
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received: () => arrivals,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

/** A caller-style envelope with the fields the load test reads. */
export function envelope(
  outcome: string,
  breakerState: string,
  id = 'x',
  producer: { cluster: string; pod: string } | null = null,
): Record<string, unknown> {
  return {
    id,
    received: outcome === 'ok' ? 'payload' : null,
    statusCode: outcome === 'ok' ? 200 : null,
    outcome,
    roundTripTimeMillis: 1,
    // The producer's identity as the caller relays it (service-kit identity), null when no
    // producer answered.
    producerMetadata: producer
      ? {
          service: 'sample-producer',
          clusterName: producer.cluster,
          clusterLocation: 'europe-west1',
          podName: producer.pod,
          podIp: '10.0.0.7',
          appVersion: null,
          hostName: producer.pod,
        }
      : null,
    breaker: { state: breakerState },
    traceId: null,
  };
}

/**
 * A breaker whose transitions are streamed as the caller's `GET /caller/events` does
 * (apps/caller/src/routes/events.ts): `event: breaker` with `{ state, from, at }`, the state on
 * connect (from: null), then one event per transition.
 */
export class BreakerFeed {
  private readonly streams = new Set<ServerResponse>();
  constructor(public state: 'closed' | 'open' | 'half_open' = 'closed') {}

  subscribe(response: ServerResponse): void {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
    });
    response.write('retry: 2000\n\n');
    this.write(response, { state: this.state, from: null, at: new Date().toISOString() });
    this.streams.add(response);
    response.on('close', () => this.streams.delete(response));
  }

  /** A transition: sent at once to every connected client. */
  set(state: 'closed' | 'open' | 'half_open'): void {
    if (state === this.state) return;
    const data = { state, from: this.state, at: new Date().toISOString() };
    this.state = state;
    for (const stream of this.streams) this.write(stream, data);
  }

  get clients(): number {
    return this.streams.size;
  }

  private write(stream: ServerResponse, data: Record<string, unknown>): void {
    stream.write(`event: breaker\ndata: ${JSON.stringify(data)}\n\n`);
  }
}
