// Kubernetes probes. /livez: the process can serve. /readyz: 503 until the app is ready and again
// from the moment shutdown starts, so endpoints are removed while in-flight work completes.
// Readiness deliberately checks nothing downstream: a cross-cluster outage must not take a pod
// out of rotation (docs/contract.md, "Both apps").
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { problem, PROBLEM_CONTENT_TYPE, sendProblem } from './problem.js';
import { DEFAULT_RETRY_AFTER_SECONDS } from './response-rules.js';

export interface Readiness {
  /** True once the app is ready and until shutdown starts. */
  isReady(): boolean;
  /** Turns /readyz to 503 for good (called first thing on SIGTERM). */
  markShuttingDown(): void;
  isShuttingDown(): boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    readiness: Readiness;
    /** The probe listener's address once listening (PROBE_PORT set), else null. */
    probeAddress(): AddressInfo | null;
  }
}

export interface ProbesOptions {
  /**
   * Also answer the probes and /metrics on this port (PROBE_PORT), from the moment the app is
   * ready until it has closed. Why a second listener: the kernel queues new connections in
   * one FIFO per listening socket, and Node accepts one connection per turn of its event loop,
   * so under a burst of a few thousand connections a probe's connection waits behind all of
   * them (measured: 0.8–3.5 s with 3,000–5,000 concurrent calls, while the event loop never
   * lagged over 0.2 s). A second socket is a second queue; the requests it serves still run on
   * the same event loop, so /livez still tells whether the process serves.
   */
  listen?: { port: number; host: string } | undefined;
}

/** Paths the probe listener answers; anything else there is a 404. */
export const PROBE_LISTENER_PATHS: readonly string[] = ['/livez', '/readyz', '/metrics'];

const probeSchema = {
  response: {
    200: {
      type: 'object',
      properties: { status: { type: 'string' } },
    },
    503: {
      type: 'object',
      properties: { status: { type: 'string' } },
    },
  },
} as const;

function startProbeListener(fastify: FastifyInstance, port: number, host: string): Promise<Server> {
  const notHere = JSON.stringify(
    problem(404, `Only ${PROBE_LISTENER_PATHS.join(', ')} are served on the probe port.`),
  );
  const server = createServer((request, response) => {
    const url = request.url ?? '';
    const query = url.indexOf('?');
    if (PROBE_LISTENER_PATHS.includes(query === -1 ? url : url.slice(0, query))) {
      fastify.routing(request, response);
      return;
    }
    response.writeHead(404, {
      'content-type': PROBLEM_CONTENT_TYPE,
      'content-length': Buffer.byteLength(notHere),
    });
    response.end(notHere);
  });
  // The kubelet opens a new connection per probe: nothing idles here for long.
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

export const probesPlugin = fp(
  async function probes(fastify: FastifyInstance, options: ProbesOptions) {
    let started = false;
    let shuttingDown = false;
    fastify.decorate<Readiness>('readiness', {
      isReady: () => started && !shuttingDown,
      markShuttingDown: () => {
        shuttingDown = true;
      },
      isShuttingDown: () => shuttingDown,
    });
    fastify.addHook('onReady', async () => {
      started = true;
    });
    let probeServer: Server | undefined;
    fastify.decorate('probeAddress', () => (probeServer?.address() as AddressInfo | null) ?? null);
    const listen = options.listen;
    if (listen) {
      // At ready (before the main listener): a port in use stops start-up with the error.
      fastify.addHook('onReady', async () => {
        probeServer = await startProbeListener(fastify, listen.port, listen.host);
      });
      // onClose runs once the main server has drained: until then /readyz keeps saying 503.
      fastify.addHook('onClose', async () => {
        const server = probeServer;
        if (!server) return;
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      });
    }
    // From app.close() on (after SHUTDOWN_DELAY_MS), a request arriving on a still-open
    // keep-alive connection is refused at once: the server drains, it takes no new work.
    let closing = false;
    fastify.addHook('preClose', async () => {
      shuttingDown = true;
      closing = true;
    });
    fastify.addHook('onRequest', async (request, reply) => {
      if (!closing) return;
      reply.header('retry-after', String(DEFAULT_RETRY_AFTER_SECONDS));
      return sendProblem(
        reply,
        problem(503, `Shutting down: ${request.method} ${request.url} was not started.`),
      );
    });
    // Once shutdown started, every answer ends its keep-alive connection: clients reconnect to
    // another pod, and a connection that turns idle after close() began cannot hold the drain up.
    fastify.addHook('onSend', (_request, reply, payload, done) => {
      if (shuttingDown) reply.header('connection', 'close');
      done(null, payload);
    });

    // Probes stay out of the access log: the kubelet calls them every few seconds.
    // Exempt from admission control: shedding load must never look like a dead process.
    const probe = { schema: probeSchema, logLevel: 'warn', config: { admission: false } } as const;
    fastify.get('/livez', probe, async () => ({
      status: 'ok',
    }));
    fastify.get('/readyz', probe, async (_request, reply) => {
      if (fastify.readiness.isReady()) return { status: 'ready' };
      return reply
        .code(503)
        .header('retry-after', String(DEFAULT_RETRY_AFTER_SECONDS))
        .send({ status: shuttingDown ? 'shutting_down' : 'starting' });
    });
  },
  { name: 'probes', fastify: '5.x' },
);
