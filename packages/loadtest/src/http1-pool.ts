// The generator's HTTP/1.1 client: a fixed set of keep-alive connections, one request at a time
// on each, every request written with one socket.write of a pre-built string, the answer parsed
// straight from the socket's buffers. It does only what the load test needs (POST with a body,
// status, content type, Content-Length or chunked bodies, keep-alive), so a request costs a
// fraction of a general-purpose client's CPU: that CPU is the generator's own, and it decides how
// fast one process can send on schedule (packages/loadtest/README.md, "Benchmark").
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

/** What the pool tells a request. One of onResponse / onError is called, once. */
export interface Http1Handler {
  /** Written to a socket (the send time a closed-loop tool measures from). */
  onSent(): void;
  /** `body` is null unless `content-type` has "json" (other bodies are read and dropped). */
  onResponse(statusCode: number, body: Buffer | null): void;
  /** No answer: the code of the failure (ECONNREFUSED, ECONNRESET, UND_ERR_HEADERS_TIMEOUT, …). */
  onError(code: string): void;
}

export interface Http1PoolOptions {
  /** At most this many connections (requests in flight); more wait in the queue, in order. */
  connections: number;
  /** No complete answer within this time after the write: `UND_ERR_HEADERS_TIMEOUT`. */
  requestTimeoutMs: number;
  /** A connection idle longer than this is closed before reuse (below a server's keep-alive). */
  keepAliveTimeoutMs: number;
  /** Bodies over this many bytes are not kept (still read). */
  maxBodyBytes: number;
  /** Every request is ASCII: written as latin1, which skips UTF-8 encoding. **Default:** `false`. */
  ascii?: boolean;
  /** For https: extra TLS options (e.g. `ca`). The certificate is always verified. */
  tls?: Pick<ConnectionOptions, 'ca'>;
}

const CRLF_CRLF = Buffer.from('\r\n\r\n');
const NO_BODY = -1;
/** Reading until the server closes: an HTTP/1.0-style answer without a length. */
const UNTIL_CLOSE = -2;
/** A chunked body: lengths are read as they come. */
const CHUNKED = -3;

class Connection {
  socket: Socket;
  handler: Http1Handler | null = null;
  sentAt = 0;
  idleSince = 0;
  connected = false;
  // Parser state for the answer in progress.
  private pending: Buffer | null = null;
  private statusCode = 0;
  private bodyLength = NO_BODY;
  private remaining = 0;
  private keepBody = false;
  private body: Buffer[] | null = null;
  private bodyBytes = 0;
  private closeAfter = false;
  private inBody = false;
  private inTrailer = false;

  constructor(
    private readonly pool: Http1Pool,
    url: URL,
  ) {
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    this.socket =
      url.protocol === 'https:'
        ? tlsConnect({
            ...pool.options.tls,
            host,
            port,
            // SNI takes a host name, never an IP address.
            servername: isIP(host) === 0 ? host : undefined,
            ALPNProtocols: ['http/1.1'],
          })
        : netConnect({ host, port });
    this.socket.setNoDelay(true);
    this.socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      this.connected = true;
    });
    this.socket.on('data', (chunk: Buffer) => this.read(chunk));
    this.socket.on('error', (error: NodeJS.ErrnoException) =>
      this.fail(error.code ?? 'UND_ERR_SOCKET'),
    );
    this.socket.on('close', () => {
      // An answer without a length ends with the connection.
      if (!this.ended()) this.fail('UND_ERR_SOCKET');
    });
  }

  send(request: string, handler: Http1Handler): void {
    this.handler = handler;
    this.sentAt = performance.now();
    this.resetParser();
    // latin1 writes each char as its byte (no UTF-8 encoding pass); right only for ASCII requests.
    this.socket.write(request, this.pool.options.ascii === true ? 'latin1' : 'utf8');
    handler.onSent();
  }

  /** The connection failed or closed: the request on it (if any) gets the error. */
  fail(code: string): void {
    const handler = this.handler;
    this.handler = null;
    if (!this.socket.destroyed) this.socket.destroy();
    this.pool.dropped(this);
    handler?.onError(code);
  }

  private resetParser(): void {
    this.pending = null;
    this.statusCode = 0;
    this.bodyLength = NO_BODY;
    this.remaining = 0;
    this.keepBody = false;
    this.body = null;
    this.bodyBytes = 0;
    this.closeAfter = false;
    this.inBody = false;
    this.inTrailer = false;
  }

  private read(chunk: Buffer): void {
    let data = chunk;
    while (data.length > 0) {
      if (this.handler === null) {
        // Bytes nobody asked for: the connection cannot be trusted for the next request.
        this.fail('UND_ERR_SOCKET');
        return;
      }
      if (!this.inBody) {
        const buffer = this.pending === null ? data : Buffer.concat([this.pending, data]);
        const end = buffer.indexOf(CRLF_CRLF);
        if (end < 0) {
          if (buffer.length > 64 * 1024) {
            this.fail('UND_ERR_HEADERS_OVERFLOW');
            return;
          }
          this.pending = buffer;
          return;
        }
        this.pending = null;
        if (!this.head(buffer.toString('latin1', 0, end))) {
          this.fail('HPE_INVALID_RESPONSE');
          return;
        }
        data = buffer.subarray(end + 4);
        // 1xx: an interim answer, the real one follows.
        if (this.statusCode < 200) {
          this.resetParser();
          continue;
        }
        this.inBody = true;
        if (this.bodyLength === NO_BODY || this.bodyLength === 0) {
          this.complete();
          continue;
        }
      }
      data = this.bodyLength === CHUNKED ? this.chunked(data) : this.plain(data);
    }
  }

  /** Parses the status line and the headers that matter. False when it is not HTTP/1.x. */
  private head(text: string): boolean {
    if (!text.startsWith('HTTP/1.')) return false;
    const status = Number(text.slice(9, 12));
    if (!Number.isInteger(status) || status < 100) return false;
    this.statusCode = status;
    const noBody = status === 204 || status === 304 || status < 200;
    let length = noBody ? NO_BODY : UNTIL_CLOSE;
    let json = false;
    let at = text.indexOf('\r\n');
    while (at >= 0) {
      const next = text.indexOf('\r\n', at + 2);
      const line = text.slice(at + 2, next < 0 ? text.length : next);
      at = next;
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      // Most header names are already lower case on the wire (Node, Fastify, Envoy).
      const name = line.slice(0, colon).toLowerCase();
      if (name === 'content-length') {
        if (!noBody && length !== CHUNKED) length = Number(line.slice(colon + 1).trim());
        if (!Number.isSafeInteger(length) || length < CHUNKED) return false;
      } else if (name === 'transfer-encoding') {
        if (
          !noBody &&
          line
            .slice(colon + 1)
            .toLowerCase()
            .includes('chunked')
        )
          length = CHUNKED;
      } else if (name === 'content-type') {
        json = line.includes('json', colon);
      } else if (name === 'connection') {
        this.closeAfter = line
          .slice(colon + 1)
          .toLowerCase()
          .includes('close');
      }
    }
    this.bodyLength = length;
    this.remaining = length;
    this.keepBody = json;
    this.body = json ? [] : null;
    if (length === UNTIL_CLOSE) this.closeAfter = true;
    return true;
  }

  private keep(part: Buffer): void {
    if (this.body === null || part.length === 0) return;
    this.bodyBytes += part.length;
    if (this.bodyBytes > this.pool.options.maxBodyBytes) this.body = null;
    else this.body.push(part);
  }

  /** A body with a Content-Length (or until close): returns the bytes after it. */
  private plain(data: Buffer): Buffer {
    if (this.bodyLength === UNTIL_CLOSE) {
      this.keep(data);
      return data.subarray(data.length);
    }
    const take = Math.min(this.remaining, data.length);
    this.keep(take === data.length ? data : data.subarray(0, take));
    this.remaining -= take;
    if (this.remaining === 0) this.complete();
    return data.subarray(take);
  }

  /** Chunked: `remaining` is the bytes left of the current chunk (+2 for its CRLF). */
  private chunked(data: Buffer): Buffer {
    let rest = data;
    while (rest.length > 0) {
      if (this.inTrailer) {
        // After the last chunk: a blank line, or trailers ending with one.
        const buffer = this.pending === null ? rest : Buffer.concat([this.pending, rest]);
        const trailersEnd = buffer.indexOf(CRLF_CRLF);
        const end =
          buffer.length >= 2 && buffer[0] === 0x0d && buffer[1] === 0x0a
            ? 2
            : trailersEnd < 0
              ? -1
              : trailersEnd + 4;
        if (end < 0) {
          this.pending = buffer;
          return rest.subarray(rest.length);
        }
        this.pending = null;
        this.complete();
        return buffer.subarray(end);
      }
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, rest.length);
        // The last 2 bytes of each chunk are its CRLF, not data.
        const dataBytes = Math.max(0, Math.min(take, this.remaining - 2));
        this.keep(rest.subarray(0, dataBytes));
        this.remaining -= take;
        rest = rest.subarray(take);
        continue;
      }
      const buffer = this.pending === null ? rest : Buffer.concat([this.pending, rest]);
      const lineEnd = buffer.indexOf('\r\n');
      if (lineEnd < 0) {
        this.pending = buffer;
        return rest.subarray(rest.length);
      }
      this.pending = null;
      const size = Number.parseInt(buffer.toString('latin1', 0, lineEnd), 16);
      if (!Number.isInteger(size) || size < 0) {
        this.fail('HPE_INVALID_CHUNK_SIZE');
        return rest.subarray(rest.length);
      }
      rest = buffer.subarray(lineEnd + 2);
      if (size === 0) {
        // The last chunk, then trailers (usually none) and a blank line.
        this.inTrailer = true;
        continue;
      }
      this.remaining = size + 2;
    }
    return rest;
  }

  private complete(): void {
    const handler = this.handler;
    if (handler === null) return;
    const parts = this.body;
    const body =
      parts === null || !this.keepBody || parts.length === 0
        ? null
        : parts.length === 1
          ? parts[0]!
          : Buffer.concat(parts);
    const status = this.statusCode;
    const close = this.closeAfter;
    this.handler = null;
    this.resetParser();
    if (close) {
      this.socket.destroy();
      this.pool.dropped(this);
    } else {
      this.idleSince = performance.now();
      this.pool.released(this);
    }
    handler.onResponse(status, body);
  }

  /** End of data on a connection read until close. */
  ended(): boolean {
    if (this.handler !== null && this.inBody && this.bodyLength === UNTIL_CLOSE) {
      this.complete();
      return true;
    }
    return false;
  }
}

interface Queued {
  request: string;
  handler: Http1Handler;
}

/** A fixed-size set of HTTP/1.1 connections to one origin. */
export class Http1Pool {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private queue: Queued[] = [];
  private queueHead = 0;
  private destroyed = false;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly url: URL,
    readonly options: Http1PoolOptions,
  ) {
    // One timer for every request's deadline (a timer per request would cost more than the request).
    this.sweeper = setInterval(
      () => this.sweep(),
      Math.max(50, Math.min(1000, options.requestTimeoutMs / 4)),
    );
    this.sweeper.unref();
  }

  /** Sends now on an idle or new connection, or queues until one is free. */
  dispatch(request: string, handler: Http1Handler): void {
    if (this.destroyed) {
      handler.onError('UND_ERR_DESTROYED');
      return;
    }
    const connection = this.take();
    if (connection) connection.send(request, handler);
    else this.queue.push({ request, handler });
  }

  /** Requests waiting for a connection. */
  get queued(): number {
    return this.queue.length - this.queueHead;
  }

  /** Closes every connection; requests still waiting or in flight get `UND_ERR_DESTROYED`. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    clearInterval(this.sweeper);
    const waiting = this.queue.slice(this.queueHead);
    this.queue = [];
    this.queueHead = 0;
    for (const connection of [...this.all]) connection.fail('UND_ERR_DESTROYED');
    for (const { handler } of waiting) handler.onError('UND_ERR_DESTROYED');
  }

  /** @internal A connection finished an answer and can take the next request. */
  released(connection: Connection): void {
    const next = this.next();
    if (next) connection.send(next.request, next.handler);
    else this.idle.push(connection);
  }

  /** @internal A connection is gone (closed, failed): a waiting request gets a new one. */
  dropped(connection: Connection): void {
    if (!this.all.delete(connection)) return;
    const index = this.idle.indexOf(connection);
    if (index >= 0) this.idle.splice(index, 1);
    if (this.destroyed) return;
    const next = this.next();
    if (next) this.open().send(next.request, next.handler);
  }

  private take(): Connection | null {
    const now = performance.now();
    while (this.idle.length > 0) {
      const connection = this.idle.pop()!;
      // Idle too long: the server may be closing it right now; a fresh one is safer.
      if (now - connection.idleSince <= this.options.keepAliveTimeoutMs) return connection;
      this.all.delete(connection);
      connection.socket.destroy();
    }
    return this.all.size < this.options.connections ? this.open() : null;
  }

  private open(): Connection {
    const connection = new Connection(this, this.url);
    this.all.add(connection);
    return connection;
  }

  private next(): Queued | undefined {
    if (this.queueHead >= this.queue.length) return undefined;
    const item = this.queue[this.queueHead]!;
    this.queue[this.queueHead] = undefined as unknown as Queued;
    this.queueHead += 1;
    // Compact now and then so the array does not grow for the whole run.
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    return item;
  }

  private sweep(): void {
    const deadline = performance.now() - this.options.requestTimeoutMs;
    for (const connection of this.all) {
      if (connection.handler !== null && connection.sentAt < deadline)
        connection.fail(
          connection.connected ? 'UND_ERR_HEADERS_TIMEOUT' : 'UND_ERR_CONNECT_TIMEOUT',
        );
    }
  }
}
