// Request and answer of POST /producer/messages (CONTRACT.md, "Producer"). The caller accepts the
// same fields, with `id` optional, so the field schemas are shared from here.
import Type, { type Static } from 'typebox';
import { identitySchema } from '@s2s/service-kit/identity';

export const idSchema = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' });
export const payloadSchema = Type.String({ maxLength: 4096 });
export const responseCodeSchema = Type.Integer({ minimum: 200, maximum: 599 });
export const delaySchema = (maxDelayMs: number) =>
  Type.Integer({ minimum: 0, maximum: maxDelayMs });

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

/** Request headers as Node gives them: a string, or an array for repeated set-cookie-like ones. */
export const headersSchema = Type.Record(
  Type.String(),
  Type.Union([Type.String(), Type.Array(Type.String())]),
);

export const producerAnswerSchema = Type.Object({
  id: Type.String(),
  received: Type.String(),
  headers: headersSchema,
  metadata: identitySchema,
});

export type ProducerAnswer = Static<typeof producerAnswerSchema>;
