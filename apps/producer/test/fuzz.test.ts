// Random and malformed requests must never produce a 5xx or take the app down.
import { anyPath, httpRequests } from '@s2s/test-support/fuzz';
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

const requests = httpRequests(
  ['POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
  fc.oneof(
    fc.constant('/producer/messages'),
    fc.constant('/producer/messages?x=1'),
    fc.constantFrom('/', '/livez', '/readyz', '/metrics', '/producer', '//producer/messages'),
    anyPath,
  ),
);

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
