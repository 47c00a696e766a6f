// Field rules of a message (docs/contract.md, "Producer"): the producer and the caller accept the
// same fields, so they are declared once here.
import { Type } from './json-schema.js';

/** 1–64 characters of `[A-Za-z0-9._-]`. */
export const idSchema = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' });
/** At most 4096 characters. */
export const payloadSchema = Type.String({ maxLength: 4096 });
/** Milliseconds, 0 … the app's MAX_DELAY_MS. */
export const delaySchema = (maxDelayMs: number) =>
  Type.Integer({ minimum: 0, maximum: maxDelayMs });
/** The status the producer answers with. */
export const responseCodeSchema = Type.Integer({ minimum: 200, maximum: 599 });

/**
 * Request headers as Node gives them: a string, or an array for repeated ones. Declared as a
 * plain object (not a union per value) so fast-json-stringify serialises it without running a
 * validator on every header of every answer.
 */
export const headersSchema = Type.Unsafe<Record<string, string | string[]>>({
  type: 'object',
  additionalProperties: true,
});
