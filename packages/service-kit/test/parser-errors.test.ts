// Errors before routing (Node's parser, Fastify's URL decoding) and answers whose status forbids
// a body, over real sockets (docs/contract.md, "Both apps").
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from '../src/server.js';
import { registerServiceFoundation } from '../src/service.js';
import { rawRequest, type RawAnswer } from './support/raw-http.js';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function start(): Promise<number> {
  app = createServer({
    logger: false,
    limits: { headersTimeoutMs: 300, requestTimeoutMs: 600, connectionsCheckingIntervalMs: 50 },
  });
  await registerServiceFoundation(app, { service: 'test', config: {}, metadataUrl: false });
  app.post('/echo', async (req) => req.body);
  app.get('/status/:code', async (req, reply) => {
    const code = Number((req.params as { code: string }).code);
    return reply.code(code).send({ some: 'body that must not be sent' });
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as AddressInfo).port;
}

function expectProblem(answer: RawAnswer, status: number): void {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(JSON.parse(answer.body)).toMatchObject({ type: 'about:blank', status });
}

describe('parser-level errors as problem+json', () => {
  it('400 for a request line that is not HTTP', async () => {
    const port = await start();
    const answer = await rawRequest(port, ['GARBAGE\r\n\r\n']);
    expectProblem(answer, 400);
    expect(answer.closed).toBe(true);
    expectProblem(await rawRequest(port, ['GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n']), 400);
  });

  it('400 for a URL that does not decode (Fastify frameworkErrors)', async () => {
    const port = await start();
    expectProblem(
      await rawRequest(port, ['GET /status/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n']),
      400,
    );
  });

  it('431 for headers over the limit', async () => {
    const port = await start();
    const answer = await rawRequest(port, [
      `GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    ]);
    expectProblem(answer, 431);
  });

  it('413 for chunk extensions over the limit, and for a body over 64 KiB', async () => {
    const port = await start();
    const extension = `;ext=${'a'.repeat(20_000)}`;
    expectProblem(
      await rawRequest(port, [
        'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
        `2${extension}\r\n{}\r\n0\r\n\r\n`,
      ]),
      413,
    );
    const body = JSON.stringify({ a: 'x'.repeat(70_000) });
    expectProblem(
      await rawRequest(port, [
        `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
        body,
      ]),
      413,
    );
  });

  it('408 for headers that never finish, and for a body that trickles', async () => {
    const port = await start();
    expectProblem(await rawRequest(port, ['GET /livez HTTP/1.1\r\nHost: x\r\n']), 408);
    const answer = await rawRequest(
      port,
      [
        'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n',
        ...Array.from({ length: 30 }, () => ' '),
      ],
      { pauseMs: 100 },
    );
    expectProblem(answer, 408);
  });
});

describe('answers whose status forbids content', () => {
  it('sends no body on 204, 205 and 304, and still a body on 200', async () => {
    const port = await start();
    for (const code of [204, 205, 304]) {
      const answer = await rawRequest(port, [
        `GET /status/${code} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      ]);
      expect(answer.status, String(code)).toBe(code);
      expect(answer.body, String(code)).toBe('');
      expect(answer.headers['content-type'], String(code)).toBeUndefined();
      if (code === 205) expect(answer.headers['content-length']).toBe('0');
      else expect(answer.headers['content-length'], String(code)).toBeUndefined();
      expect(answer.headers['transfer-encoding'], String(code)).toBeUndefined();
    }
    const ok = await fetch(`http://127.0.0.1:${port}/status/200`);
    expect(await ok.json()).toEqual({ some: 'body that must not be sent' });
  });
});
