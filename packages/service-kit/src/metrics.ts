// Prometheus metrics with one registry per app instance (no global registry: tests build many
// apps in one process). Names follow OpenTelemetry's HTTP semantic conventions in Prometheus form.
import type { FastifyInstance } from 'fastify';
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
      help: 'Duration of HTTP server requests, from arrival to the last byte sent.',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: DURATION_BUCKETS_SECONDS,
      registers: [registry],
    });

    // `route` is the route pattern (or 'unmatched'), so the label sets stay bounded.
    fastify.addHook('onResponse', (request, reply, done) => {
      requestDuration.observe(
        {
          method: request.method,
          route: request.routeOptions.url ?? 'unmatched',
          status_code: String(reply.statusCode),
        },
        reply.elapsedTime / 1000,
      );
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
