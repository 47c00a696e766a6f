// HTTP rules every answer of both services follows, whatever route or plugin wrote it:
// - 204, 205 and 304 carry no content (RFC 9110 §15.3.5, §15.3.6, §15.4.5), even when a route
//   sent a body: the producer answers any `responseCode` it is asked for.
// - every 503 carries Retry-After (RFC 9110 §10.2.3), so a client or a proxy backs off instead
//   of retrying at once; a route that knows better (the breaker's remaining open time) sets its
//   own value first.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** Seconds a client should wait after a 503 that names no better value. */
export const DEFAULT_RETRY_AFTER_SECONDS = 1;

const BODILESS_STATUSES = new Set([204, 205, 304]);

export const responseRulesPlugin = fp(
  async function responseRules(fastify: FastifyInstance) {
    fastify.addHook('onSend', async (_request, reply, payload) => {
      const status = reply.statusCode;
      if (status === 503 && !reply.hasHeader('retry-after')) {
        reply.header('retry-after', String(DEFAULT_RETRY_AFTER_SECONDS));
      }
      if (!BODILESS_STATUSES.has(status)) return payload;
      reply.removeHeader('content-type');
      reply.removeHeader('content-length');
      // Fastify then writes no body: no Content-Length on 204/304, `Content-Length: 0` on 205.
      return null;
    });
  },
  { name: 'response-rules', fastify: '5.x' },
);
