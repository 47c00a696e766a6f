// POST /caller/messages: relay a message to the producer through the shared client and answer
// the envelope, whose HTTP status follows the outcome table of docs/contract.md.
import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { CallResult, Outcome } from '@s2s/service-client';
import { redactEchoedHeaders, redactHeaders } from '@s2s/service-kit/redaction';
import type { FastifyInstance } from 'fastify';
import { FAULT_TOKEN_HEADER, faultTokenGuard } from '../fault-token.js';
import { callerMessageRequestSchema, envelopeSchema, type Envelope } from '../schemas/messages.js';
import { requestTraceContext } from '../trace.js';

/** docs/contract.md, "Caller": outcome → the caller's HTTP status. */
export const STATUS_BY_OUTCOME: Readonly<Record<Outcome, 200 | 502 | 503 | 504>> = {
  ok: 200,
  upstream_error: 502,
  timeout: 504,
  circuit_open: 503,
  overloaded: 503,
  unreachable: 502,
};

/**
 * The envelope is built field by field from typed values (Envelope), so plain JSON.stringify
 * writes exactly the schema's shape; fast-json-stringify took 2.5× as long on it, because two of
 * its fields are upstream objects of open shape. The tests check every envelope against the schema.
 */
const serializeEnvelope = (envelope: Envelope): string => JSON.stringify(envelope);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The producer's answer fields, taken only when they have the expected shape. */
function producerFields(
  result: CallResult,
): Pick<Envelope, 'received' | 'producerMetadata' | 'producerHeaders'> {
  const body = isPlainObject(result.body) ? result.body : {};
  return {
    received:
      result.outcome === 'ok' && typeof body['received'] === 'string' ? body['received'] : null,
    producerMetadata: isPlainObject(body['metadata']) ? body['metadata'] : null,
    producerHeaders: isPlainObject(body['headers']) ? redactEchoedHeaders(body['headers']) : null,
  };
}

export default async function messagesRoutes(fastify: FastifyInstance): Promise<void> {
  const { MAX_DELAY_MS } = fastify.config;
  const faultToken = faultTokenGuard(fastify.config.FAULT_INJECTION_TOKEN);
  fastify.withTypeProvider<TypeBoxTypeProvider>().post(
    '/caller/messages',
    {
      schema: {
        body: callerMessageRequestSchema(MAX_DELAY_MS),
        response: {
          200: envelopeSchema,
          502: envelopeSchema,
          503: envelopeSchema,
          504: envelopeSchema,
        },
      },
      serializerCompiler: () => serializeEnvelope,
    },
    async (request, reply) => {
      const { payload, delay, responseCode } = request.body;
      // Before anything is sent: a refused fault knob never reaches the producer.
      faultToken.assertAllowed({ delay, responseCode }, request.headers[FAULT_TOKEN_HEADER]);
      const id = request.body.id ?? randomUUID();
      // Read here, written into the call by the client alone (trace.ts).
      const traceContext = requestTraceContext(request.headers);

      const result = await fastify.producerClient.call({
        method: 'POST',
        path: '/producer/messages',
        json: {
          id,
          payload,
          ...(delay === undefined ? {} : { delay }),
          ...(responseCode === undefined ? {} : { responseCode }),
        },
        requestId: request.id,
        traceContext: traceContext.context,
      });

      const envelope: Envelope = {
        id,
        ...producerFields(result),
        statusCode: result.statusCode,
        outcome: result.outcome,
        // The client times the whole call, retry included.
        roundTripTimeMillis: Math.round(result.latencyMs * 1000) / 1000,
        callerMetadata: fastify.identity.current(),
        callerHeaders: redactHeaders(request.headers),
        breaker: { state: result.breakerState },
        traceId: traceContext.traceId,
      };
      if (result.outcome !== 'ok') {
        request.log.info(
          { outcome: result.outcome, statusCode: result.statusCode, errorCode: result.errorCode },
          'producer call failed',
        );
      }
      // circuit_open and overloaded: no request was sent; say when one may be (RFC 9110 §10.2.3).
      if (result.retryAfterMs !== null) {
        reply.header('retry-after', String(Math.max(1, Math.ceil(result.retryAfterMs / 1000))));
      }
      return reply.code(STATUS_BY_OUTCOME[result.outcome]).send(envelope);
    },
  );
}
