// responseCode 204, 205 or 304: the producer answers that status with no content at all
// (RFC 9110), over a real socket, where Node would otherwise still send the echo on a 205.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { buildTestProducer } from './helpers.js';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('status codes without content', () => {
  it('answers 204, 205 and 304 without a body or content type, and other codes with the echo', async () => {
    app = await buildTestProducer();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    for (const responseCode of [204, 205, 304, 200, 206]) {
      const response = await request(`${origin}/producer/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'm', payload: 'p', responseCode }),
      });
      const text = await response.body.text();
      expect(response.statusCode).toBe(responseCode);
      if ([204, 205, 304].includes(responseCode)) {
        expect(text, String(responseCode)).toBe('');
        expect(response.headers['content-type'], String(responseCode)).toBeUndefined();
        expect(response.headers['content-length'] ?? '0', String(responseCode)).toBe('0');
      } else {
        expect(JSON.parse(text)).toMatchObject({ id: 'm', received: 'p' });
      }
    }
  });
});
