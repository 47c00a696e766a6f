// The Fastify instance both services run on, with every server timeout set on purpose.
import { randomUUID } from 'node:crypto';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
  LogController,
} from 'fastify';

export interface ServerOptions {
  /** pino level. **Default:** `'info'` */
  logLevel?: string;
  /** `false` silences logs (tests); otherwise JSON lines on stdout. **Default:** `true` */
  logger?: boolean;
  /**
   * Longest time a handler may legitimately take (e.g. MAX_DELAY_MS): idle-socket timeouts are
   * derived from it so a slow answer is never cut. **Default:** `30000`
   */
  longestResponseMs?: number;
  /** Where JSON log lines go instead of stdout (tests read them). */
  logStream?: { write(line: string): void };
  /** Extra Fastify options (merged last). */
  fastify?: Omit<FastifyServerOptions, 'logger' | 'loggerInstance'>;
}

/**
 * Idle keep-alive lifetime of server connections. It must stay above every client's idle timeout
 * (the shared client closes idle sockets after 4 s, Envoy's default idle timeout is 1 h but the
 * sidecar re-uses upstream connections only while both ends agree) so a server never closes a
 * socket a client is about to reuse; 72 s also outlasts the 60 s of common load balancers.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 72_000;
/** Time for a client to send a whole request (headers + at most 64 KiB of body). */
export const REQUEST_TIMEOUT_MS = 30_000;
/** Largest accepted body (docs/contract.md: over 64 KiB → 413). */
export const BODY_LIMIT_BYTES = 65_536;

const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** Accepts a sane incoming `x-request-id` (printable ASCII, at most 128 chars), else a UUID. */
export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && REQUEST_ID.test(value) ? value : randomUUID();
}

/**
 * One access line per request, written when it completes, instead of Fastify's two ("incoming
 * request" + "request completed"): half the log lines and JSON serialisation per request. The
 * line holds what the two did (reqId binding, method, url, host, remote address, status, response
 * time), and it is written inside the request's trace context, so with telemetry running it
 * carries trace_id/span_id (the first line was written before any hook, so before the request's
 * span existed). Routes with a quieter `logLevel` (probes, /metrics) still log nothing.
 */
export class AccessLogController extends LogController {
  override incomingRequest(): void {
    // Folded into requestCompleted.
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (this.isLogDisabled(request)) return;
    const line = { req: request, res: reply, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}

export function createServer(options: ServerOptions = {}): FastifyInstance {
  const longestResponseMs = options.longestResponseMs ?? 30_000;
  const app = Fastify({
    logger:
      options.logger === false
        ? false
        : {
            level: options.logLevel ?? 'info',
            // Secrets never reach the logs even if a serializer starts logging headers.
            redact: ['req.headers.authorization', 'req.headers.cookie'],
            ...(options.logStream ? { stream: options.logStream } : {}),
          },
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    // Socket inactivity limit: above the keep-alive timeout (which should close idle sockets
    // first) and above the longest silent wait of a delayed answer.
    connectionTimeout: Math.max(KEEP_ALIVE_TIMEOUT_MS, longestResponseMs) + 30_000,
    bodyLimit: BODY_LIMIT_BYTES,
    // During app.close(), new requests get 503 and idle keep-alive sockets are closed.
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    requestIdHeader: false,
    logController: new AccessLogController(),
    genReqId: (request) => requestIdFrom(request.headers['x-request-id']),
    // JSON bodies are taken as sent: "5" is not a number, so a wrong type is a 400.
    ajv: { customOptions: { coerceTypes: false, allErrors: false } },
    ...options.fastify,
  });
  // JSON is the only body the services take: anything else, text/plain included, is a 415.
  app.removeContentTypeParser('text/plain');
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  return app;
}
