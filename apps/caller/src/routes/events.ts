// GET /caller/events: the breaker's true state as Server-Sent Events (docs/contract.md, "Both
// apps"). One `breaker` event with the current state as soon as a client connects, then one per
// transition, so a page follows the state without sending a call and misses no cycle, however
// short. Streams end when the server shuts down, so they never hold up its drain.
import type { BreakerTransition } from '@s2s/service-client';
import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';

/**
 * A comment line this often keeps idle proxies (a gateway's or sidecar's idle timeout) and the
 * server's own socket-inactivity limit from closing a quiet stream.
 */
const HEARTBEAT_MS = 15_000;

interface BreakerEventData {
  state: string;
  /** The state before the transition; null in the event sent on connect. */
  from: string | null;
  /** ISO 8601 time of the transition (of the connect, for the first event). */
  at: string;
}

function writeEvent(stream: ServerResponse, data: BreakerEventData): void {
  stream.write(`event: breaker\ndata: ${JSON.stringify(data)}\n\n`);
}

export async function eventsRoutes(fastify: FastifyInstance): Promise<void> {
  const client = fastify.producerClient;
  const streams = new Set<ServerResponse>();

  const onTransition = (transition: BreakerTransition): void => {
    const data = {
      state: transition.to,
      from: transition.from,
      at: new Date(transition.at).toISOString(),
    };
    for (const stream of streams) writeEvent(stream, data);
  };
  client.on('breakerTransition', onTransition);

  const heartbeat = setInterval(() => {
    for (const stream of streams) stream.write(': heartbeat\n\n');
  }, HEARTBEAT_MS);
  heartbeat.unref();

  // Before the server stops accepting and drains: an open stream would never finish by itself.
  fastify.addHook('preClose', (done) => {
    clearInterval(heartbeat);
    client.off('breakerTransition', onTransition);
    for (const stream of streams) stream.end();
    streams.clear();
    done();
  });

  fastify.get(
    '/caller/events',
    // Not an API call: its log line would say "request completed" only when the stream ends.
    { logLevel: 'warn' },
    (request, reply) => {
      reply.hijack();
      const stream = reply.raw;
      stream.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        // Tells nginx-style buffering proxies to pass events through at once.
        'x-accel-buffering': 'no',
      });
      // A reconnecting EventSource waits this long (ms) before trying again.
      stream.write('retry: 2000\n\n');
      writeEvent(stream, {
        state: client.breakerState(),
        from: null,
        at: new Date().toISOString(),
      });
      streams.add(stream);
      request.raw.on('close', () => streams.delete(stream));
    },
  );
}
