// Errors Node's HTTP parser raises before Fastify sees a request (a garbled request line, headers
// over the limit, a client too slow to send its request), answered as problem+json like every
// other error (docs/contract.md, "Both apps") instead of Fastify's `{"error":…}`. Written straight
// to the socket, which is closed afterwards: the parser's state is unknown.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { PROBLEM_CONTENT_TYPE, problem } from './problem.js';

/** Node's own mapping (lib/_http_server.js `onParserExecuteCommon`), detail worded for people. */
const CLIENT_ERRORS: Readonly<Record<string, readonly [number, string]>> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'The request was not received in time.'],
  HPE_HEADER_OVERFLOW: [431, 'The request headers are larger than the server accepts.'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'The chunk extensions are larger than the server accepts.'],
};

/** The raw HTTP/1.1 answer to a parser error: problem+json, then the connection closes. */
export function clientErrorResponse(code: string | undefined): string {
  const [status, detail] = (code !== undefined ? CLIENT_ERRORS[code] : undefined) ?? [
    400,
    'The request could not be parsed as HTTP/1.1.',
  ];
  const body = JSON.stringify(problem(status, detail));
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}

/** Fastify's `clientErrorHandler`. */
export function handleClientError(error: Error & { code?: string }, socket: Socket): void {
  // A reset connection has nobody to answer (as Fastify's and Node's default handlers do).
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) socket.end(clientErrorResponse(error.code));
  socket.destroySoon();
}
