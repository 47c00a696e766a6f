// Kubernetes probes. /livez: the process can serve. /readyz: 503 until the app is ready and again
// from the moment shutdown starts, so endpoints are removed while in-flight work completes.
// Readiness deliberately checks nothing downstream: a cross-cluster outage must not take a pod
// out of rotation (docs/contract.md, "Both apps").
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { problem, sendProblem } from './problem.js';
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
  }
}

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

export const probesPlugin = fp(
  async function probes(fastify: FastifyInstance) {
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
