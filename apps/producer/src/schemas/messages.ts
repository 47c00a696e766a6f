// Request and answer of POST /producer/messages (docs/contract.md, "Producer").
import { identitySchema } from '@s2s/service-kit/identity';
import {
  delaySchema,
  headersSchema,
  idSchema,
  payloadSchema,
  responseCodeSchema,
} from '@s2s/service-kit/message-schema';
import { Type } from '@s2s/service-kit/json-schema';
import type { Static } from 'typebox';

/** Built per app: the allowed delay depends on the app's MAX_DELAY_MS. */
export function producerMessageRequestSchema(maxDelayMs: number) {
  return Type.Object({
    id: idSchema,
    payload: payloadSchema,
    delay: Type.Optional(delaySchema(maxDelayMs)),
    responseCode: Type.Optional(responseCodeSchema),
  });
}

export type ProducerMessageRequest = Static<ReturnType<typeof producerMessageRequestSchema>>;

export const producerAnswerSchema = Type.Object({
  id: Type.String(),
  received: Type.String(),
  headers: headersSchema,
  metadata: identitySchema,
});

export type ProducerAnswer = Static<typeof producerAnswerSchema>;
