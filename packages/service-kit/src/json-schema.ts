// The JSON Schema builders the services use (config, routes, identity), with TypeBox's types and
// TypeBox's output, without loading TypeBox. Its `Type` builder is 372 modules and ~6–9 MB of
// resident memory in a started caller (bench/README.md, "Memory"), for the eight builders below;
// the issue-18 idle budget is 100 MB. The types come from `typebox` (a type-only import, erased
// at build), so `Static<typeof schema>` and the Fastify type provider work unchanged, and
// test/json-schema.test.ts checks that each builder returns what TypeBox's does: the same JSON,
// the same non-enumerable `~kind` / `~optional` markers.
import type TypeBox from 'typebox';

type Options = Record<string, unknown>;
type Schema = Record<string, unknown>;

/** TypeBox's markers: non-enumerable `~` properties, so Ajv and JSON never see them. */
function mark<T extends Schema>(schema: T, marker: string, value: unknown): T {
  Object.defineProperty(schema, marker, {
    value,
    writable: true,
    enumerable: false,
    configurable: true,
  });
  return schema;
}

function withKind<T extends Schema>(kind: string, schema: T): T {
  return mark(schema, '~kind', kind);
}

function isOptional(schema: unknown): boolean {
  return (
    typeof schema === 'object' &&
    schema !== null &&
    (schema as Record<string, unknown>)['~optional'] === true
  );
}

function string(options: Options = {}): Schema {
  return withKind('String', { type: 'string', ...options });
}

function integer(options: Options = {}): Schema {
  return withKind('Integer', { type: 'integer', ...options });
}

function number(options: Options = {}): Schema {
  return withKind('Number', { type: 'number', ...options });
}

function literal(value: string | number | boolean, options: Options = {}): Schema {
  return withKind('Literal', { type: typeof value, const: value, ...options });
}

function union(schemas: readonly Schema[], options: Options = {}): Schema {
  return withKind('Union', { anyOf: [...schemas], ...options });
}

function object(properties: Record<string, Schema>, options: Options = {}): Schema {
  const required = Object.keys(properties).filter((key) => !isOptional(properties[key]));
  return withKind('Object', {
    type: 'object',
    ...(required.length > 0 ? { required } : {}),
    properties,
    ...options,
  });
}

/** A copy of `schema`, markers included, that an object does not require. */
function optional(schema: Schema): Schema {
  const copy = { ...schema };
  for (const key of Object.getOwnPropertyNames(schema)) {
    if (key.startsWith('~')) mark(copy, key, schema[key]);
  }
  return mark(copy, '~optional', true);
}

/** A schema written by hand, typed as `T`. */
function unsafe(schema: Options = {}): Schema {
  return mark({ ...schema }, '~unsafe', null);
}

/** The builders, typed as TypeBox's `Type.*` of the same name. */
export const Type = {
  String: string as unknown as typeof TypeBox.String,
  Integer: integer as unknown as typeof TypeBox.Integer,
  Number: number as unknown as typeof TypeBox.Number,
  Literal: literal as unknown as typeof TypeBox.Literal,
  Union: union as unknown as typeof TypeBox.Union,
  Object: object as unknown as typeof TypeBox.Object,
  Optional: optional as unknown as typeof TypeBox.Optional,
  Unsafe: unsafe as unknown as typeof TypeBox.Unsafe,
};
