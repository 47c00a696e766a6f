// Random and malformed requests against the caller (relaying to a real producer): never a 500,
// never a crash; a 502/503/504 only ever carries a well-formed envelope.
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestCaller, startProducer, type RunningProducer } from './helpers.js';

let caller: FastifyInstance;
let producer: RunningProducer;
beforeAll(async () => {
  producer = await startProducer({ MAX_DELAY_MS: '5' });
  // Tiny MAX_DELAY_MS so random valid delays stay short; a short breaker reset keeps it moving.
  caller = await buildTestCaller(producer.port, { MAX_DELAY_MS: '5', BREAKER_RESET_MS: '50' });
});
afterAll(async () => {
  await caller.close();
  await producer.app.close();
});

const contentTypes = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=latin1',
    'APPLICATION/JSON',
    'application/json;;;',
    'text/plain',
    'text/html',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/octet-stream',
    '',
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
    extra: fieldValue,
  },
  { requiredKeys: [] },
);

const bodies = fc.oneof(
  messageLike.map((value) => JSON.stringify(value)),
  fc.json(),
  fc.string({ maxLength: 200 }),
  fc.constantFrom('', '{', '[]', 'null', '"x"', '{"payload":', '{"__proto__":{"a":1}}'),
  fc.uint8Array({ maxLength: 100 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
);

const headerName = fc.oneof(
  fc.stringMatching(/^x-[a-z0-9-]{1,20}$/),
  fc.constantFrom('x-request-id', 'traceparent', 'tracestate', 'authorization', 'cookie', 'accept'),
);
const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,60}$/);

const requests = fc.record({
  method: fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE', 'HEAD', 'OPTIONS'),
  url: fc.oneof(
    fc.constant('/caller/messages'),
    fc.constantFrom(
      '/',
      '/index.html',
      '/livez',
      '/readyz',
      '/metrics',
      '/caller',
      '/../etc/passwd',
    ),
    fc.webPath().map((path) => (path.startsWith('/') ? path : `/${path}`)),
  ),
  contentType: contentTypes,
  body: bodies,
  headers: fc.dictionary(headerName, headerValue, { maxKeys: 4 }),
});

describe('caller under random input', () => {
  it('never answers 500 and every 5xx is an envelope', async () => {
    await fc.assert(
      fc.asyncProperty(requests, async ({ method, url, contentType, body, headers }) => {
        const withBody = !['GET', 'HEAD', 'OPTIONS'].includes(method);
        const response = await caller.inject({
          method: method as 'POST',
          url,
          headers: { ...headers, ...(contentType ? { 'content-type': contentType } : {}) },
          ...(withBody ? { payload: body } : {}),
        });
        const label = `${method} ${url} ${contentType} ${body}`;
        expect(response.statusCode, label).not.toBe(500);
        if (response.statusCode >= 500) {
          expect([502, 503, 504], label).toContain(response.statusCode);
          expect(response.json().outcome, label).toMatch(
            /^(upstream_error|timeout|circuit_open|unreachable)$/,
          );
        } else if (response.statusCode >= 400 && method !== 'HEAD') {
          expect(response.headers['content-type'], label).toMatch(/^application\/problem\+json/);
        }
      }),
      { numRuns: 400, seed: 20261123 },
    );
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect((await caller.inject({ url: '/livez' })).statusCode).toBe(200);
  });
});
