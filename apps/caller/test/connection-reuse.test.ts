// PRODUCER_MAX_REQUESTS_PER_CONNECTION: the caller closes a connection to the producer after that
// many calls (the last one sent with `connection: close`), end to end through real sockets to a
// real producer on 127.0.0.1.
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { loadCallerConfig } from '../src/config.js';
import { buildTestCaller, startProducer, type RunningProducer } from './helpers.js';

let caller: FastifyInstance | undefined;
let producer: RunningProducer | undefined;
afterEach(async () => {
  await caller?.close();
  await producer?.app.close();
  caller = undefined;
  producer = undefined;
});

describe('PRODUCER_MAX_REQUESTS_PER_CONNECTION', () => {
  it('with 5, 30 calls in a row open a new connection at least every 5 calls, and every call is answered', async () => {
    producer = await startProducer();
    let connections = 0;
    producer.app.server.on('connection', () => (connections += 1));
    const closing: string[] = [];
    producer.app.server.on('request', (request: IncomingMessage) => {
      if (request.headers.connection === 'close') closing.push(request.url ?? '');
    });
    caller = await buildTestCaller(producer.port, { PRODUCER_MAX_REQUESTS_PER_CONNECTION: '5' });

    for (let i = 0; i < 30; i++) {
      const response = await caller.inject({
        method: 'POST',
        url: '/caller/messages',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ id: `r${i}`, payload: 'p' }),
      });
      expect(response.statusCode).toBe(200);
    }
    expect(producer.received()).toBe(30);
    expect(connections).toBeGreaterThanOrEqual(6);
    expect(closing.length).toBeGreaterThanOrEqual(5);
    expect(closing.every((url) => url === '/producer/messages')).toBe(true);
  });

  it('defaults to 0, no limit', () => {
    expect(loadCallerConfig({}).PRODUCER_MAX_REQUESTS_PER_CONNECTION).toBe(0);
  });

  it.each(['abc', '-1', '1.5'])('stops start-up naming the variable on %s', (value) => {
    expect(() => loadCallerConfig({ PRODUCER_MAX_REQUESTS_PER_CONNECTION: value })).toThrow(
      /PRODUCER_MAX_REQUESTS_PER_CONNECTION/,
    );
  });
});
