// Random and malformed requests must never produce a 5xx or take the app down.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildTestProducer } from './helpers.js';

let app: FastifyInstance;
beforeAll(async () => {
  // Tiny MAX_DELAY_MS so random valid delays stay short.
  app = await buildTestProducer({ MAX_DELAY_MS: '5' });
});
afterAll(async () => {
  await app.close();
});

const contentTypes = fc.oneof(
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

const fieldValue = fc.oneof(
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

const messageLike = fc.record(
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

const bodies = fc.oneof(
  messageLike.map((value) => JSON.stringify(value)),
  fc.json(),
  fc.string({ maxLength: 200 }),
  fc.constantFrom('', '{', '}', '[]', 'null', '"x"', '{"id":', '{"__proto__":{"a":1}}', '\u0000'),
  fc.uint8Array({ maxLength: 100 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
);

const headerName = fc.stringMatching(/^x-[a-z0-9-]{1,20}$/);
const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,60}$/);

const requests = fc.record({
  method: fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
  url: fc.oneof(
    fc.constant('/producer/messages'),
    fc.constant('/producer/messages?x=1'),
    fc.constantFrom('/', '/livez', '/readyz', '/metrics', '/producer', '//producer/messages'),
    fc.webPath().map((path) => (path.startsWith('/') ? path : `/${path}`)),
  ),
  contentType: contentTypes,
  body: bodies,
  headers: fc.dictionary(headerName, headerValue, { maxKeys: 4 }),
});

describe('producer under random input', () => {
  it('never answers 5xx and every error is problem+json', async () => {
    await fc.assert(
      fc.asyncProperty(requests, async ({ method, url, contentType, body, headers }) => {
        const withBody = method !== 'GET' && method !== 'OPTIONS';
        const response = await app.inject({
          method: method as 'POST',
          url,
          headers: { ...headers, ...(contentType ? { 'content-type': contentType } : {}) },
          ...(withBody ? { payload: body } : {}),
        });
        expect(response.statusCode, `${method} ${url} ${contentType} ${body}`).toBeLessThan(500);
        if (response.statusCode >= 400 && response.statusCode !== 503) {
          expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
          expect(response.json()).toMatchObject({ status: response.statusCode });
        }
      }),
      { numRuns: 400, seed: 20261123 },
    );
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect((await app.inject({ url: '/livez' })).statusCode).toBe(200);
  });
});
