// Request and envelope of POST /caller/messages (CONTRACT.md, "Caller").
import { identitySchema } from '@s2s/service-kit/identity';
import {
  delaySchema,
  headersSchema,
  idSchema,
  payloadSchema,
  responseCodeSchema,
} from '@s2s/service-kit/message-schema';
import Type, { type Static } from 'typebox';

/** Same fields as the producer's; `id` optional; `delay` checked against the caller's limit. */
export function callerMessageRequestSchema(maxDelayMs: number) {
  return Type.Object({
    id: Type.Optional(idSchema),
    payload: payloadSchema,
    delay: Type.Optional(delaySchema(maxDelayMs)),
    responseCode: Type.Optional(responseCodeSchema),
  });
}

export type CallerMessageRequest = Static<ReturnType<typeof callerMessageRequestSchema>>;

const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

/** What the producer sent is relayed as it came: objects of any shape, or null. */
const upstreamObject = nullable(Type.Record(Type.String(), Type.Unknown()));

export const envelopeSchema = Type.Object({
  id: Type.String(),
  received: nullable(Type.String()),
  statusCode: nullable(Type.Integer()),
  outcome: Type.Union([
    Type.Literal('ok'),
    Type.Literal('upstream_error'),
    Type.Literal('timeout'),
    Type.Literal('circuit_open'),
    Type.Literal('unreachable'),
  ]),
  roundTripTimeMillis: Type.Number(),
  callerMetadata: identitySchema,
  producerMetadata: upstreamObject,
  callerHeaders: headersSchema,
  producerHeaders: upstreamObject,
  breaker: Type.Object({
    state: Type.Union([Type.Literal('closed'), Type.Literal('open'), Type.Literal('half_open')]),
  }),
  traceId: nullable(Type.String()),
});

export type Envelope = Static<typeof envelopeSchema>;
