// Kubernetes probes. /livez: the process can serve. /readyz: 503 until the app is ready and again
// from the moment shutdown starts, so endpoints are removed while in-flight work completes.
// Readiness deliberately checks nothing downstream: a cross-cluster outage must not take a pod
// out of rotation (docs/contract.md, "Both apps").
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

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
    fastify.addHook('preClose', async () => {
      shuttingDown = true;
    });
    // Once shutdown started, every answer ends its keep-alive connection: clients reconnect to
    // another pod, and a connection that turns idle after close() began cannot hold the drain up.
    fastify.addHook('onSend', (_request, reply, payload, done) => {
      if (shuttingDown) reply.header('connection', 'close');
      done(null, payload);
    });

    // Probes stay out of the access log: the kubelet calls them every few seconds.
    fastify.get('/livez', { schema: probeSchema, logLevel: 'warn' }, async () => ({
      status: 'ok',
    }));
    fastify.get('/readyz', { schema: probeSchema, logLevel: 'warn' }, async (_request, reply) => {
      if (fastify.readiness.isReady()) return { status: 'ready' };
      return reply.code(503).send({ status: shuttingDown ? 'shutting_down' : 'starting' });
    });
  },
  { name: 'probes', fastify: '5.x' },
);
