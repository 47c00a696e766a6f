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
): Promise<StubServer> {
  let arrivals = 0;
  const server = createServer((request, response) => {
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
