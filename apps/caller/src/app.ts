// The caller as a Fastify plugin; server.ts owns the process, tests build it with buildCallerApp.
import type { AdmissionOptions } from '@s2s/service-kit/admission';
import type { IdentityResolver } from '@s2s/service-kit/identity';
import { createServer } from '@s2s/service-kit/server';
import { registerServiceFoundation } from '@s2s/service-kit/service';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { CallerConfig } from './config.js';
import { clientMetricsPlugin } from './plugins/client-metrics.js';
import { producerClientPlugin } from './plugins/producer-client.js';
import { eventsRoutes } from './routes/events.js';
import messagesRoutes from './routes/messages.js';
import uiRoutes from './routes/ui.js';

export const SERVICE_NAME = 'sample-caller';

export interface CallerAppOptions {
  config: CallerConfig;
  /** Identity to report; default: resolved from the config's identity variables. */
  identity?: IdentityResolver;
  /** Base URL of the GKE metadata server, or false to never ask it. */
  metadataUrl?: string | false;
  /** Admission-control thresholds (tests force pressure); default: service-kit's. */
  admission?: AdmissionOptions;
}

export const callerApp = fp(
  async function caller(fastify: FastifyInstance, options: CallerAppOptions) {
    await registerServiceFoundation(fastify, {
      service: SERVICE_NAME,
      config: options.config,
      identity: options.identity,
      metadataUrl: options.metadataUrl,
      admission: options.admission,
    });
    await fastify.register(producerClientPlugin);
    await fastify.register(clientMetricsPlugin);
    await fastify.register(messagesRoutes);
    await fastify.register(eventsRoutes);
    await fastify.register(uiRoutes);
  },
  { name: 'caller-app', fastify: '5.x' },
);

export interface BuildOptions extends CallerAppOptions {
  /** false silences logs (tests). Default: JSON logs at config.LOG_LEVEL. */
  logger?: boolean;
  /** Log lines go here instead of stdout (tests). */
  logStream?: { write(line: string): void };
}

/** A ready-to-listen caller with the shared server settings. */
export async function buildCallerApp(options: BuildOptions): Promise<FastifyInstance> {
  const app = createServer({
    logLevel: options.config.LOG_LEVEL,
    logger: options.logger ?? true,
    // The caller waits at most PRODUCER_TIMEOUT_MS for an answer.
    longestResponseMs: options.config.PRODUCER_TIMEOUT_MS,
    ...(options.logStream ? { logStream: options.logStream } : {}),
  });
  await app.register(callerApp, options);
  return app;
}
