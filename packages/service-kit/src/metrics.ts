// Prometheus metrics with one registry per app instance (no global registry: tests build many
// apps in one process). Names and labels follow OpenTelemetry's HTTP semantic conventions in
// Prometheus form (`http.server.request.duration` → `http_server_request_duration_seconds`,
// `http.request.method` → `http_request_method`, …), as the OpenTelemetry Prometheus exporter
// writes them, so dashboards built on either read the same series.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: { registry: Registry };
  }
}

/**
 * Seconds; reaches 30 s because MAX_DELAY_MS allows answers that slow. The low end resolves the
 * sub-millisecond to few-millisecond calls inside a cluster.
 */
export const DURATION_BUCKETS_SECONDS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** `http_route` of every file served by @fastify/static: one series for the whole UI folder. */
export const STATIC_ROUTE = '/*';

/** `http_route` of a request no route matched (a 404): never the raw path, which is unbounded. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Status (nginx's convention) of a request whose client closed the connection before the answer
 * was sent: a caller that timed out. Nobody receives it; it exists for logs and metrics.
 */
export const CLIENT_CLOSED_STATUS = 499;

/**
 * Status codes that keep their own label value. Any other code (the producer's fault knob can
 * ask for every code 200–599) is reported as its class, `2xx` … `5xx`, so the label stays bounded
 * (before: 400 values, 6,817 series from one fault sweep, kept until restart).
 */
export const KNOWN_STATUS_CODES: ReadonlySet<number> = new Set([
  200,
  201,
  202,
  204,
  301,
  302,
  304,
  307,
  308,
  400,
  401,
  403,
  404,
  405,
  406,
  408,
  409,
  410,
  413,
  415,
  422,
  429,
  CLIENT_CLOSED_STATUS,
  500,
  501,
  502,
  503,
  504,
]);

/** The bounded label value of a status code: the code when known, else its class (`5xx`). */
export function statusLabel(statusCode: number): string {
  if (KNOWN_STATUS_CODES.has(statusCode)) return String(statusCode);
  return statusClass(statusCode);
}

/** `1xx` … `5xx` for a status code; `other` outside 100–599. */
export function statusClass(statusCode: number): string {
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) return 'other';
  return `${Math.floor(statusCode / 100)}xx`;
}

export interface MetricsOptions {
  /** Collect prom-client's process metrics (CPU, memory, event loop, GC). **Default:** `true` */
  processMetrics?: boolean;
  /** `service` label of `s2s_build_info`, e.g. `'sample-caller'`. **Default:** `'unknown'` */
  service?: string;
  /** `version` label of `s2s_build_info` (APP_VERSION). **Default:** `'unknown'` */
  version?: string;
}

/**
 * Bucket edges (seconds) with one edge 5 % above `timeoutMs` added: a call that ran into the
 * deadline then lands in a bucket that ends just above it, so its quantile reads ~1.05x the
 * timeout instead of the next coarse edge (a 3 s timeout read as 4.9 s with edges 2.5 and 5).
 */
export function bucketsWithTimeoutEdge(timeoutMs: number): number[] {
  const edge = Number(((timeoutMs * 1.05) / 1000).toPrecision(6));
  return [...new Set([...DURATION_BUCKETS_SECONDS, edge])].sort((a, b) => a - b);
}

/** The route label: the route pattern; all static files as one; `unmatched` for a 404. */
function routeLabel(request: FastifyRequest): string {
  const options = request.routeOptions;
  // @fastify/static (wildcard: false) registers one route per file, each with config.file and
  // config.rootPath: without this, every file of the UI was its own series.
  const config = options.config as { file?: unknown; rootPath?: unknown } | undefined;
  if (typeof config?.file === 'string' && typeof config.rootPath === 'string') return STATIC_ROUTE;
  return options.url ?? UNMATCHED_ROUTE;
}

export const metricsPlugin = fp(
  async function metrics(fastify: FastifyInstance, options: MetricsOptions) {
    const registry = new Registry();
    if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
    fastify.decorate('metrics', { registry });

    // The usual build-info pattern: one series, value 1, whose labels say what runs (a
    // dashboard joins on it; a rollout shows as two versions side by side).
    new Gauge({
      name: 's2s_build_info',
      help: 'The running service and its version; always 1.',
      labelNames: ['service', 'version'] as const,
      registers: [registry],
    }).set({ service: options.service ?? 'unknown', version: options.version ?? 'unknown' }, 1);

    const requestDuration = new Histogram({
      name: 'http_server_request_duration_seconds',
      help: 'Duration of HTTP server requests, from arrival to the last byte sent (or to the client leaving: status 499).',
      labelNames: ['http_request_method', 'http_route', 'http_response_status_code'] as const,
      buckets: DURATION_BUCKETS_SECONDS,
      registers: [registry],
    });
    // OpenTelemetry's http.server.active_requests.
    const activeRequests = new Gauge({
      name: 'http_server_active_requests',
      help: 'HTTP server requests in flight (received, not yet answered or abandoned).',
      registers: [registry],
    });
    activeRequests.set(0);

    // Each request is counted once: by onResponse when its answer was sent, or by the response's
    // 'close' when the client left first. Fastify runs no onResponse then (the answer never
    // finishes), which is why a caller's timeout used to leave no trace on the producer.
    const ended = new WeakSet<FastifyRequest>();
    const end = (request: FastifyRequest, reply: FastifyReply, statusCode: number): void => {
      if (ended.has(request)) return;
      ended.add(request);
      activeRequests.dec();
      requestDuration.observe(
        {
          http_request_method: request.method,
          http_route: routeLabel(request),
          http_response_status_code: statusLabel(statusCode),
        },
        reply.elapsedTime / 1000,
      );
    };

    fastify.addHook('onRequest', (request, reply, done) => {
      activeRequests.inc();
      reply.raw.once('close', () => {
        if (ended.has(request)) return;
        // Finished without onResponse: a hijacked reply (the event stream) that the server ended.
        if (reply.raw.writableFinished) {
          end(request, reply, reply.raw.statusCode);
          return;
        }
        end(request, reply, CLIENT_CLOSED_STATUS);
        // The access line Fastify does not write for it (no "request completed" comes), in the
        // same shape (server.ts, AccessLogController) so a search on status 499 finds it.
        request.log.info(
          {
            req: request,
            res: { statusCode: CLIENT_CLOSED_STATUS },
            responseTime: reply.elapsedTime,
            abandoned: true,
          },
          'request completed',
        );
      });
      done();
    });
    fastify.addHook('onResponse', (request, reply, done) => {
      end(request, reply, reply.statusCode);
      done();
    });

    // Exempt from admission control: under load an operator most needs to see why it sheds.
    fastify.get(
      '/metrics',
      { logLevel: 'warn', config: { admission: false } },
      async (_request, reply) => {
        const text = await registry.metrics();
        return reply.type(registry.contentType).send(text);
      },
    );
  },
  { name: 'metrics', fastify: '5.x' },
);
