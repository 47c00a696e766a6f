/**
 * The ingress gateway of cluster-1 (stand-in for the Istio ingress gateway): an HTTP/1.1
 * reverse proxy in front of the caller, so the UI is reached the way a person reaches it in
 * the real setup — through a different host name and an extra proxy hop. Like Envoy it sets
 * `x-forwarded-for`/`x-forwarded-proto`, adds an `x-request-id` when there is none, keeps
 * upstream connections alive, answers 503 when the upstream cannot be reached and 504 after
 * the route timeout (Envoy's default: 15 s).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';

export interface IngressGatewayOptions {
  listen: { host: string; port: number };
  upstream: { host: string; port: number };
  /** Route timeout. **Default:** 15000. */
  routeTimeoutMs?: number;
}

// Hop-by-hop headers (RFC 9110 §7.6.1) are never forwarded.
/** Largest request body the gateway buffers (the apps take at most 64 KiB). */
const MAX_BODY_BYTES = 1024 * 1024;
/** Errors of a reused pooled connection that prove the upstream closed it before reading. */
const RETRYABLE = new Set(['ECONNRESET', 'EPIPE']);

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export class IngressGateway {
  private readonly agent = new http.Agent({
    keepAlive: true,
    keepAliveMsecs: 1000,
    maxSockets: 256,
  });
  private readonly server: http.Server;
  requests = 0;
  upstreamErrors = 0;
  retries = 0;

  constructor(private readonly options: IngressGatewayOptions) {
    this.server = http.createServer({ keepAliveTimeout: 30_000 }, (request, response) =>
      this.forward(request, response),
    );
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.listen.port, this.options.listen.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.agent.destroy();
  }

  private forward(request: http.IncomingMessage, response: http.ServerResponse): void {
    this.requests += 1;
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
    }
    const client = request.socket.remoteAddress ?? '';
    const forwardedFor = request.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = forwardedFor ? `${String(forwardedFor)}, ${client}` : client;
    headers['x-forwarded-proto'] = 'http';
    headers['x-request-id'] ??= randomUUID();

    // The body is buffered (bounded) so that a request written to a pooled connection the
    // upstream had just closed can be sent once more, as Envoy does for a reset before any
    // response byte. Node marks such a request with `reusedSocket`.
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      headers['content-length'] = String(body.length);
      if (
        body.length === 0 &&
        request.method &&
        ['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(request.method)
      ) {
        delete headers['content-length'];
      }
      this.send(request, response, headers, body, true);
    });
  }

  private send(
    request: http.IncomingMessage,
    response: http.ServerResponse,
    headers: http.OutgoingHttpHeaders,
    body: Buffer,
    mayRetry: boolean,
  ): void {
    const upstreamRequest = http.request({
      host: this.options.upstream.host,
      port: this.options.upstream.port,
      method: request.method,
      path: request.url,
      headers,
      agent: this.agent,
      timeout: this.options.routeTimeoutMs ?? 15_000,
    });
    const fail = (status: number, text: string) => {
      if (!response.headersSent) {
        response.writeHead(status, { 'content-type': 'text/plain', connection: 'close' });
        response.end(text);
      } else {
        response.destroy();
      }
    };
    let answered = false;
    upstreamRequest.on('timeout', () => {
      upstreamRequest.destroy();
      fail(504, 'upstream request timeout');
    });
    upstreamRequest.on('error', (error: NodeJS.ErrnoException) => {
      if (
        !answered &&
        mayRetry &&
        upstreamRequest.reusedSocket &&
        RETRYABLE.has(error.code ?? '')
      ) {
        this.retries += 1;
        this.send(request, response, headers, body, false);
        return;
      }
      this.upstreamErrors += 1;
      fail(503, 'upstream connect error or disconnect/reset before headers');
    });
    upstreamRequest.on('response', (upstreamResponse) => {
      answered = true;
      const responseHeaders: http.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(upstreamResponse.headers)) {
        if (!HOP_BY_HOP.has(name) && value !== undefined) responseHeaders[name] = value;
      }
      response.writeHead(upstreamResponse.statusCode ?? 502, responseHeaders);
      upstreamResponse.pipe(response);
    });
    response.once('close', () => {
      if (!response.writableFinished) upstreamRequest.destroy();
    });
    upstreamRequest.end(body);
  }
}
