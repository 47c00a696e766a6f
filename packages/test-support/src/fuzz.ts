// fast-check arbitraries for random and malformed HTTP requests against a service under test:
// content types, bodies (messages with hostile keys, JSON, garbage), headers. The caller's and the
// producer's fuzz tests draw from the same ones, with their own methods and paths.
import fc from 'fast-check';

export const contentTypes: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=latin1',
    'APPLICATION/JSON',
    'application/json;;;',
    'application/problem+json',
    'text/plain',
    'text/html',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/octet-stream',
    '',
    '*/*',
  ),
  fc.stringMatching(/^[\x20-\x7e]{0,40}$/),
);

/** A value for any message field: of the right type or not, in range or not. */
export const fieldValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
  fc.integer({ min: -10, max: 700 }),
  fc.stringMatching(/^[A-Za-z0-9._-]{1,70}$/),
);

/** An object shaped like a message, with prototype-pollution keys among its fields. */
export const messageLike = fc.record(
  {
    id: fieldValue,
    payload: fieldValue,
    delay: fieldValue,
    responseCode: fieldValue,
    __proto__: fc.constant({ polluted: true }),
    constructor: fc.constant({ prototype: { polluted: true } }),
    extra: fieldValue,
  },
  { requiredKeys: [] },
);

export const bodies: fc.Arbitrary<string> = fc.oneof(
  messageLike.map((value) => JSON.stringify(value)),
  fc.json(),
  fc.string({ maxLength: 200 }),
  fc.constantFrom(
    '',
    '{',
    '}',
    '[]',
    'null',
    '"x"',
    '{"id":',
    '{"payload":',
    '{"__proto__":{"a":1}}',
    '\u0000',
  ),
  fc.uint8Array({ maxLength: 100 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
);

export const headerNames: fc.Arbitrary<string> = fc.oneof(
  fc.stringMatching(/^x-[a-z0-9-]{1,20}$/),
  fc.constantFrom('x-request-id', 'traceparent', 'tracestate', 'authorization', 'cookie', 'accept'),
);
export const headerValues: fc.Arbitrary<string> = fc.stringMatching(/^[\x20-\x7e]{0,60}$/);

export interface FuzzRequest {
  method: string;
  url: string;
  /** '' means no content-type header. */
  contentType: string;
  body: string;
  headers: Record<string, string>;
}

/** A request to `urls` with one of `methods` (repeat a method to weigh it). */
export function httpRequests(
  methods: readonly string[],
  urls: fc.Arbitrary<string>,
): fc.Arbitrary<FuzzRequest> {
  return fc.record({
    method: fc.constantFrom(...methods),
    url: urls,
    contentType: contentTypes,
    body: bodies,
    headers: fc.dictionary(headerNames, headerValues, { maxKeys: 4 }),
  });
}

/** A path of any shape, always starting with '/'. */
export const anyPath: fc.Arbitrary<string> = fc
  .webPath()
  .map((path) => (path.startsWith('/') ? path : `/${path}`));
