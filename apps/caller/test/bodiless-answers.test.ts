// The producer answering 204/205/304 (no content): the caller still answers its envelope, with
// `received` null, and never a body-less status of its own.
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildTestCaller, startProducer, type RunningProducer } from './helpers.js';

let caller: FastifyInstance | undefined;
let producer: RunningProducer | undefined;
afterEach(async () => {
  await caller?.close();
  await producer?.app.close();
  caller = undefined;
  producer = undefined;
});

describe('producer answers without content', () => {
  it('relays 204 and 205 as ok with received null, 304 as upstream_error', async () => {
    producer = await startProducer();
    caller = await buildTestCaller(producer.port);
    const cases = [
      [204, 200, 'ok'],
      [205, 200, 'ok'],
      [304, 502, 'upstream_error'],
    ] as const;
    for (const [responseCode, status, outcome] of cases) {
      const response = await caller.inject({
        method: 'POST',
        url: '/caller/messages',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ payload: 'p', responseCode }),
      });
      expect(response.statusCode, String(responseCode)).toBe(status);
      expect(response.json(), String(responseCode)).toMatchObject({
        statusCode: responseCode,
        outcome,
        received: null,
        producerHeaders: null,
        producerMetadata: null,
      });
    }
  });
});
