// The Fastify instance both services run on, with every server timeout set on purpose.
import { randomUUID } from 'node:crypto';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import { destination } from 'pino';
import { handleClientError } from './client-errors.js';
import { problemFromError, sendProblem } from './problem.js';

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
  /** Connection limits and timeouts; tests shorten them. **Default:** `CONNECTION_LIMITS` */
  limits?: Partial<ConnectionLimits>;
  /** Extra Fastify options (merged last). */
  fastify?: Omit<FastifyServerOptions, 'logger' | 'loggerInstance'>;
}

/** How long and how many connections a server keeps: idle or trickling clients are shed. */
export interface ConnectionLimits {
  /**
   * Idle keep-alive lifetime. Above every client's idle timeout, so a server never closes a
   * socket a client is about to reuse: the shared client's 4 s (and undici honours the
   * `Keep-Alive: timeout=20` hint Node sends), the load generator's 4 s. The sidecar in front
   * (Envoy, idle timeout 1 h on the inbound cluster) sees the close and opens a new connection.
   */
  keepAliveTimeoutMs: number;
  /**
   * Time to receive a request's headers, counted from the connection's start for its first
   * request: a connection that never sends one is closed after this.
   */
  headersTimeoutMs: number;
  /** Time to receive a whole request (headers + at most 64 KiB of body): trickling bodies end. */
  requestTimeoutMs: number;
  /**
   * How often Node checks the two timeouts above (its default, 30 s, would let a trickling
   * client hold a socket up to 30 s past them).
   */
  connectionsCheckingIntervalMs: number;
  /**
   * Open connections beyond which new ones are dropped at accept (`server.maxConnections`): a
   * last line against a connection flood (the 15,000 idle sockets from one client).
   * Far above a legitimate peak (the sidecar opens about one connection per concurrent request,
   * and the 5,000-call overload bench stays below it), because the kubelet's probes come over
   * new connections too.
   */
  maxConnections: number;
}

export const CONNECTION_LIMITS: Readonly<ConnectionLimits> = {
  keepAliveTimeoutMs: 20_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  connectionsCheckingIntervalMs: 2_000,
  maxConnections: 8_192,
};

/**
 * Connections the kernel queues for `accept()` (Linux caps it at net.core.somaxconn, 4096 by
 * default). Node's 511 overflows under a burst of a few thousand connections: the kernel then
 * drops SYNs and a probe's connection waits for its SYN retransmission (1 s, then 3 s), which
 * no admission control in the process can shorten. Pass it to `listen({ backlog })`.
 */
export const LISTEN_BACKLOG = 4096;

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

/**
 * How long a log line may wait in the buffer before it is written. Lines are written in batches
 * of up to `LOG_BATCH_BYTES`, or every `LOG_FLUSH_MS`, whichever comes first.
 */
export const LOG_FLUSH_MS = 100;
/** A write of stdout costs a system call: one per ~20 access lines under load, not one per line. */
export const LOG_BATCH_BYTES = 8_192;

/** stdout's destination, one per process however many servers it runs (tests run several). */
let stdout: ReturnType<typeof destination> | undefined;

/**
 * stdout as a batched pino destination. Written line by line, the access line was the caller's
 * one system call per request that the bare relay does not make. The batch is written in this
 * thread (`sync: true`): pino's asynchronous mode hands each write to a libuv worker thread, and
 * waking that thread cost more of the caller's CPU on the shared bench machine than the write
 * itself (bench/README.md, "Figures on a quiet machine"). What is buffered is written on `exit`
 * (graceful shutdown, fatal errors); only a SIGKILL loses the last `LOG_FLUSH_MS` of lines.
 */
function stdoutDestination(): ReturnType<typeof destination> {
  if (stdout !== undefined) return stdout;
  const stream = destination({
    dest: 1,
    sync: true,
    minLength: LOG_BATCH_BYTES,
    periodicFlush: LOG_FLUSH_MS,
  });
  process.once('exit', () => {
    try {
      stream.flushSync();
    } catch {
      // stdout is gone (a closed pipe): nothing left to write to.
    }
  });
  stdout = stream;
  return stream;
}

export function createServer(options: ServerOptions = {}): FastifyInstance {
  const longestResponseMs = options.longestResponseMs ?? 30_000;
  const limits = { ...CONNECTION_LIMITS, ...options.limits };
  const app = Fastify({
    logger:
      options.logger === false
        ? false
        : {
            level: options.logLevel ?? 'info',
            // Secrets never reach the logs even if a serializer starts logging headers.
            redact: ['req.headers.authorization', 'req.headers.cookie'],
            stream: options.logStream ?? stdoutDestination(),
          },
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: limits.connectionsCheckingIntervalMs,
    },
    // Socket inactivity limit: above the keep-alive timeout (which should close idle sockets
    // first) and above the longest silent wait of a delayed answer.
    connectionTimeout: Math.max(limits.keepAliveTimeoutMs, longestResponseMs) + 30_000,
    bodyLimit: BODY_LIMIT_BYTES,
    // During app.close(), idle keep-alive sockets are closed; a new request on a busy one gets a
    // 503 problem+json with Retry-After from the probes plugin (Fastify's own 503 is plain JSON
    // without Retry-After and skips every hook).
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Parser-level errors (bad request line, 408, 413, 431) and Fastify's pre-routing ones (a URL
    // that does not decode) as problem+json, like every other error.
    clientErrorHandler: handleClientError,
    frameworkErrors: (error, _request, reply) => {
      void sendProblem(reply, problemFromError(error));
    },
    requestIdHeader: false,
    logController: new AccessLogController(),
    genReqId: (request) => requestIdFrom(request.headers['x-request-id']),
    // JSON bodies are taken as sent: "5" is not a number, so a wrong type is a 400.
    ajv: { customOptions: { coerceTypes: false, allErrors: false } },
    ...options.fastify,
  });
  app.server.maxConnections = limits.maxConnections;
  // JSON is the only body the services take: anything else, text/plain included, is a 415.
  app.removeContentTypeParser('text/plain');
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  return app;
}
