// The lean builders (src/json-schema.ts) against TypeBox itself: for every builder and each kind of
// option the services use, the same JSON Schema, the same key order and the same non-enumerable
// markers, so the services' schemas are what they were with TypeBox and its types stay true.
import TypeBox from 'typebox';
import { describe, expect, it } from 'vitest';
import { Type } from '../src/json-schema.js';

/** Every own property, enumerable or not, with its enumerability, recursively. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  if (typeof value !== 'object' || value === null) return value;
  const descriptors = Object.getOwnPropertyDescriptors(value);
  return Object.keys(descriptors).length === 0
    ? {}
    : Object.fromEntries(
        Reflect.ownKeys(value).map((key) => {
          const descriptor = descriptors[key as string]!;
          return [
            String(key),
            { enumerable: descriptor.enumerable, value: shape(descriptor.value) },
          ];
        }),
      );
}

const cases: Array<[string, () => unknown, () => unknown]> = [
  ['String()', () => Type.String(), () => TypeBox.String()],
  [
    'String(options)',
    () => Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z]+$', default: 'a' }),
    () => TypeBox.String({ minLength: 1, maxLength: 64, pattern: '^[a-z]+$', default: 'a' }),
  ],
  [
    'Integer(options)',
    () => Type.Integer({ minimum: 0, maximum: 600_000, default: 5 }),
    () => TypeBox.Integer({ minimum: 0, maximum: 600_000, default: 5 }),
  ],
  ['Number()', () => Type.Number(), () => TypeBox.Number()],
  ['Literal(string)', () => Type.Literal('info'), () => TypeBox.Literal('info')],
  ['Literal(number)', () => Type.Literal(1), () => TypeBox.Literal(1)],
  ['Literal(boolean)', () => Type.Literal(true), () => TypeBox.Literal(true)],
  [
    'Union(literals, default)',
    () => Type.Union([Type.Literal('true'), Type.Literal('false')], { default: 'false' }),
    () => TypeBox.Union([TypeBox.Literal('true'), TypeBox.Literal('false')], { default: 'false' }),
  ],
  [
    'Unsafe(schema)',
    () => Type.Unsafe<Record<string, string>>({ type: 'object', additionalProperties: true }),
    () => TypeBox.Unsafe<Record<string, string>>({ type: 'object', additionalProperties: true }),
  ],
  [
    'Optional(String)',
    () => Type.Optional(Type.String({ minLength: 1 })),
    () => TypeBox.Optional(TypeBox.String({ minLength: 1 })),
  ],
  [
    'Optional(Unsafe)',
    () => Type.Optional(Type.Unsafe({ type: 'object' })),
    () => TypeBox.Optional(TypeBox.Unsafe({ type: 'object' })),
  ],
  [
    'Object(required and optional, options)',
    () =>
      Type.Object(
        {
          id: Type.String(),
          delay: Type.Optional(Type.Integer({ minimum: 0 })),
          nested: Type.Object({ state: Type.String() }),
        },
        { additionalProperties: false },
      ),
    () =>
      TypeBox.Object(
        {
          id: TypeBox.String(),
          delay: TypeBox.Optional(TypeBox.Integer({ minimum: 0 })),
          nested: TypeBox.Object({ state: TypeBox.String() }),
        },
        { additionalProperties: false },
      ),
  ],
  [
    'Object(all optional)',
    () => Type.Object({ a: Type.Optional(Type.String()) }),
    () => TypeBox.Object({ a: TypeBox.Optional(TypeBox.String()) }),
  ],
  ['Object({})', () => Type.Object({}), () => TypeBox.Object({})],
];

describe('JSON Schema builders', () => {
  it.each(cases)('%s builds what TypeBox builds', (_name, lean, typebox) => {
    const built = lean();
    expect(JSON.stringify(built)).toBe(JSON.stringify(typebox()));
    expect(shape(built)).toEqual(shape(typebox()));
  });

  it('Optional leaves the schema it was given required', () => {
    const id = Type.String();
    const schema = Type.Object({ id, alias: Type.Optional(id) });
    expect(schema.required).toEqual(['id']);
    expect(Object.getOwnPropertyNames(id)).not.toContain('~optional');
  });
});
