// POST /producer/messages: echo the payload, the request headers (minus secrets) and who answered,
// after the requested delay and with the requested status — the fault knobs of docs/contract.md.
import { setTimeout as sleep } from 'node:timers/promises';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { HttpProblem } from '@s2s/service-kit/problem';
import { redactHeaders } from '@s2s/service-kit/redaction';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { producerAnswerSchema, producerMessageRequestSchema } from '../schemas/messages.js';

/**
 * Waits `ms` unless the client closes the connection first; then the timer is cleared at once
 * (nothing is left behind for a caller that gave up). Resolves true when the full delay passed.
 */
async function delayUnlessClientLeaves(reply: FastifyReply, ms: number): Promise<boolean> {
  const controller = new AbortController();
  const onClose = (): void => controller.abort();
  reply.raw.once('close', onClose);
  try {
    await sleep(ms, undefined, { signal: controller.signal });
    return true;
  } catch {
    return false;
  } finally {
    reply.raw.off('close', onClose);
  }
}

export default async function messagesRoutes(fastify: FastifyInstance): Promise<void> {
  const { MAX_DELAY_MS, FAULTS_ENABLED } = fastify.config;
  const answer = { schema: producerAnswerSchema };
  fastify.withTypeProvider<TypeBoxTypeProvider>().post(
    '/producer/messages',
    {
      schema: {
        body: producerMessageRequestSchema(MAX_DELAY_MS),
        // Any status may carry the echo (responseCode is a knob), so each class shares it.
        response: {
          '2xx': answer.schema,
          '3xx': answer.schema,
          '4xx': answer.schema,
          '5xx': answer.schema,
        },
      },
    },
    async (request, reply) => {
      const { id, payload, delay = 0, responseCode = 200 } = request.body;
      if (!FAULTS_ENABLED && (delay !== 0 || responseCode !== 200)) {
        throw new HttpProblem(
          403,
          'Fault injection is disabled (FAULTS_ENABLED=false): delay must be 0 and responseCode 200.',
          delay !== 0 ? 'delay' : 'responseCode',
        );
      }
      if (delay > 0 && !(await delayUnlessClientLeaves(reply, delay))) {
        request.log.info({ delay }, 'client closed the connection during the delay');
        // 499 (client closed request) is only for the logs and metrics: nobody reads it.
        return reply
          .code(499)
          .type('text/plain')
          .send('client closed request' as never);
      }
      return reply.code(responseCode).send({
        id,
        received: payload,
        headers: redactHeaders(request.headers),
        metadata: fastify.identity.current(),
      });
    },
  );
}
