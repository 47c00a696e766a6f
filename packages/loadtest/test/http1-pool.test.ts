// The generator's own HTTP/1.1 client against a raw TCP server that answers byte for byte what
// the test scripts: answers split anywhere, chunked bodies, no length, connection: close, errors.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Http1Pool } from '../src/http1-pool.js';

interface Outcome {
  status?: number;
  body?: string | null;
  error?: string;
  sent: boolean;
}

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) server.close();
});

/** A server that calls `answer` for each complete request it reads (requests end with their body). */
async function rawServer(
  answer: (socket: Socket, request: string, index: number) => void,
): Promise<{ url: URL; connections: () => number }> {
  let index = 0;
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    sockets.push(socket);
    let buffer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (;;) {
        const headEnd = buffer.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const length = Number(/content-length: (\d+)/i.exec(buffer.slice(0, headEnd))?.[1] ?? 0);
        if (buffer.length < headEnd + 4 + length) return;
        const request = buffer.slice(0, headEnd + 4 + length);
        buffer = buffer.slice(request.length);
        answer(socket, request, index++);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/caller/messages`),
    connections: () => connections,
  };
}

function call(pool: Http1Pool, body = '{"id":"a"}'): Promise<Outcome> {
  return new Promise((resolve) => {
    const outcome: Outcome = { sent: false };
    pool.dispatch(
      `POST /caller/messages HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      {
        onSent: () => (outcome.sent = true),
        onResponse: (status, answer) =>
          resolve({ ...outcome, status, body: answer === null ? null : answer.toString('utf8') }),
        onError: (code) => resolve({ ...outcome, error: code }),
      },
    );
  });
}

/** Writes `text` a few bytes at a time, each piece in its own packet. */
async function trickle(socket: Socket, text: string, size = 3): Promise<void> {
  for (let at = 0; at < text.length; at += size) {
    socket.write(text.slice(at, at + size));
    await new Promise((r) => setTimeout(r, 1));
  }
}

const options = {
  connections: 2,
  requestTimeoutMs: 2000,
  keepAliveTimeoutMs: 4000,
  maxBodyBytes: 1024,
};

describe('Http1Pool', () => {
  it('reads answers split anywhere, chunked or with a length, and reuses the connection', async () => {
    const json = '{"outcome":"ok","breaker":{"state":"closed"}}';
    const server = await rawServer((socket, _request, index) => {
      if (index === 0)
        void trickle(
          socket,
          `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n${json}`,
        );
      else
        void trickle(
          socket,
          `HTTP/1.1 502 Bad Gateway\r\ncontent-type: application/json; charset=utf-8\r\ntransfer-encoding: chunked\r\n\r\n` +
            `5\r\n{"out\r\n${(json.length - 5).toString(16)}\r\n${json.slice(5)}\r\n0\r\n\r\n`,
          4,
        );
    });
    const pool = new Http1Pool(server.url, options);
    const first = await call(pool);
    const second = await call(pool);
    pool.destroy();
    expect(first).toEqual({ sent: true, status: 200, body: json });
    expect(second).toEqual({ sent: true, status: 502, body: json });
    expect(server.connections()).toBe(1);
  });

  it('drops non-JSON and oversized bodies but still reads past them; 204 and 1xx have none', async () => {
    const big = `{"x":"${'y'.repeat(2000)}"}`;
    const server = await rawServer((socket, _request, index) => {
      const answers = [
        'HTTP/1.1 500 Internal\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\noops!',
        `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${big.length}\r\n\r\n${big}`,
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\ncontent-type: application/json\r\n\r\n',
        'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}',
      ];
      socket.write(answers[index]!);
    });
    const pool = new Http1Pool(server.url, { ...options, connections: 1 });
    const results = [await call(pool), await call(pool), await call(pool), await call(pool)];
    pool.destroy();
    expect(results.map((r) => [r.status, r.body])).toEqual([
      [500, null],
      [200, null],
      [204, null],
      [200, '{}'],
    ]);
    expect(server.connections()).toBe(1);
  });

  it('reads a body without a length until the server closes, and opens a new connection after connection: close', async () => {
    const server = await rawServer((socket, _request, index) => {
      if (index === 0)
        socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{"a":1}');
      else
        socket.end(
          'HTTP/1.1 503 Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: 7\r\n\r\n{"b":2}',
        );
    });
    const pool = new Http1Pool(server.url, { ...options, connections: 1 });
    const first = await call(pool);
    const second = await call(pool);
    pool.destroy();
    expect(first).toMatchObject({ status: 200, body: '{"a":1}' });
    expect(second).toMatchObject({ status: 503, body: '{"b":2}' });
    expect(server.connections()).toBe(2);
  });

  it('queues beyond its connections, in order, and fails each request on its own when refused or reset', async () => {
    const order: number[] = [];
    const server = await rawServer((socket, request, index) => {
      order.push(Number(/"n":(\d+)/.exec(request)?.[1]));
      if (index === 3) {
        socket.destroy(); // reset mid-request
        return;
      }
      setTimeout(
        () =>
          socket.write(
            'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}',
          ),
        5,
      );
    });
    const pool = new Http1Pool(server.url, { ...options, connections: 1 });
    const results = await Promise.all([0, 1, 2, 3, 4].map((n) => call(pool, `{"n":${n}}`)));
    pool.destroy();
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(results.map((r) => r.status ?? r.error)).toEqual([200, 200, 200, 'UND_ERR_SOCKET', 200]);

    const refused = new Http1Pool(new URL('http://127.0.0.1:1/caller/messages'), options);
    const failures = await Promise.all([1, 2, 3].map(() => call(refused)));
    refused.destroy();
    expect(failures.map((f) => f.error)).toEqual(['ECONNREFUSED', 'ECONNREFUSED', 'ECONNREFUSED']);
  });

  it('times out a request that gets no answer, and fails what is left when destroyed', async () => {
    const server = await rawServer(() => undefined); // never answers
    const pool = new Http1Pool(server.url, { ...options, connections: 1, requestTimeoutMs: 200 });
    const silent = await call(pool);
    expect(silent.error).toBe('UND_ERR_HEADERS_TIMEOUT');
    const waiting = [call(pool), call(pool)];
    pool.destroy();
    expect((await Promise.all(waiting)).map((w) => w.error)).toEqual([
      'UND_ERR_DESTROYED',
      'UND_ERR_DESTROYED',
    ]);
  });

  it('refuses an answer that is not HTTP/1.x', async () => {
    const server = await rawServer((socket) => socket.write('SSH-2.0-OpenSSH\r\n\r\n'));
    const pool = new Http1Pool(server.url, options);
    const outcome = await call(pool);
    pool.destroy();
    expect(outcome.error).toBe('HPE_INVALID_RESPONSE');
  });
});

describe('requests as runLoad writes them', () => {
  it('sends valid HTTP with the exact body, a non-ASCII payload included (UTF-8, right content-length)', async () => {
    const { runLoad } = await import('../src/run-load.js');
    const { startStub, sendJson, envelope } = await import('./stub-server.js');
    const bodies: unknown[] = [];
    const headers: (string | undefined)[] = [];
    const stub = await startStub((request, response, _arrival, body) => {
      bodies.push(JSON.parse(body));
      headers.push(request.headers['x-request-id'] as string | undefined);
      sendJson(response, 200, envelope('ok', 'closed'));
    });
    try {
      for (const payload of ['plain', 'héllo ✓ 🚀']) {
        bodies.length = 0;
        headers.length = 0;
        const report = await runLoad({
          url: stub.url,
          rate: 50,
          durationMs: 200,
          payload,
          delayMs: 0,
          runId: 'utf8',
          breakerEvents: null,
        });
        expect(report.outcomeCounts).toEqual({ ok: 10 });
        expect(bodies).toContainEqual({ id: 'lt-utf8-3', payload, delay: 0 });
        expect(headers).toContain('lt-utf8-3');
      }
    } finally {
      await stub.close();
    }
  });
});

describe('https', () => {
  it('verifies the certificate: refused when self-signed, answered with its CA', async () => {
    // A throwaway certificate for 127.0.0.1, made by openssl (part of Debian's base system).
    const dir = await mkdtemp(join(tmpdir(), 's2s-loadtest-tls-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
        ],
        { stdio: 'ignore' },
      );
      const cert = await readFile(join(dir, 'cert.pem'), 'utf8');
      const key = await readFile(join(dir, 'key.pem'), 'utf8');
      const server = createTlsServer({ cert, key }, (socket) => {
        socket.once('data', () =>
          socket.write(
            'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}',
          ),
        );
      });
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const { port } = server.address() as AddressInfo;
      const url = new URL(`https://127.0.0.1:${port}/caller/messages`);

      const untrusted = new Http1Pool(url, options);
      const refused = await call(untrusted);
      untrusted.destroy();
      expect(refused.error).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');

      const trusted = new Http1Pool(url, { ...options, tls: { ca: cert } });
      const answered = await call(trusted);
      trusted.destroy();
      expect(answered).toMatchObject({ status: 200, body: '{}' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
