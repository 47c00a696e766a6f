// Random and malformed requests against the caller (relaying to a real producer): never a 500,
// never a crash; a 502/503/504 only ever carries a well-formed envelope.
import { anyPath, httpRequests } from '@s2s/test-support/fuzz';
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

const requests = httpRequests(
  ['POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE', 'HEAD', 'OPTIONS'],
  fc.oneof(
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
    anyPath,
  ),
);

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
          expect(response.json<{ outcome: unknown }>().outcome, label).toMatch(
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
