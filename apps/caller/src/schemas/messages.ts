// Request and envelope of POST /caller/messages (docs/contract.md, "Caller").
import { identitySchema } from '@s2s/service-kit/identity';
import {
  delaySchema,
  headersSchema,
  idSchema,
  payloadSchema,
  responseCodeSchema,
} from '@s2s/service-kit/message-schema';
import type { BreakerState, Outcome } from '@s2s/service-client';
import { Type } from '@s2s/service-kit/json-schema';
import type { Static } from 'typebox';

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

// Nullable fields as JSON-schema type lists, not anyOf: fast-json-stringify serialises type
// lists directly, while anyOf costs a validator run per field per answer.
const nullableString = Type.Unsafe<string | null>({ type: ['string', 'null'] });
const nullableInteger = Type.Unsafe<number | null>({ type: ['integer', 'null'] });
/** What the producer sent is relayed as it came: objects of any shape, or null. */
const upstreamObject = Type.Unsafe<Record<string, unknown> | null>({
  type: ['object', 'null'],
  additionalProperties: true,
});

export const envelopeSchema = Type.Object({
  id: Type.String(),
  received: nullableString,
  statusCode: nullableInteger,
  outcome: Type.Unsafe<Outcome>({
    type: 'string',
    enum: ['ok', 'upstream_error', 'timeout', 'circuit_open', 'overloaded', 'unreachable'],
  }),
  roundTripTimeMillis: Type.Number(),
  callerMetadata: identitySchema,
  producerMetadata: upstreamObject,
  callerHeaders: headersSchema,
  producerHeaders: upstreamObject,
  breaker: Type.Object({
    state: Type.Unsafe<BreakerState>({ type: 'string', enum: ['closed', 'open', 'half_open'] }),
  }),
  traceId: nullableString,
});

export type Envelope = Static<typeof envelopeSchema>;
