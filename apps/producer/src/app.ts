// The producer as a Fastify plugin; server.ts owns the process, tests build it with buildProducerApp.
import type { AdmissionOptions } from '@s2s/service-kit/admission';
import type { IdentityResolver } from '@s2s/service-kit/identity';
import { createServer } from '@s2s/service-kit/server';
import { registerServiceFoundation } from '@s2s/service-kit/service';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ProducerConfig } from './config.js';
import messagesRoutes from './routes/messages.js';

export const SERVICE_NAME = 'sample-producer';

export interface ProducerAppOptions {
  config: ProducerConfig;
  /** Identity to report; default: resolved from the config's identity variables. */
  identity?: IdentityResolver;
  /** Base URL of the GKE metadata server, or false to never ask it. */
  metadataUrl?: string | false;
  /** Admission-control thresholds (tests force pressure); default: service-kit's. */
  admission?: AdmissionOptions;
}

export const producerApp = fp(
  async function producer(fastify: FastifyInstance, options: ProducerAppOptions) {
    await registerServiceFoundation(fastify, {
      service: SERVICE_NAME,
      config: options.config,
      identity: options.identity,
      metadataUrl: options.metadataUrl,
      admission: options.admission,
    });
    await fastify.register(messagesRoutes);
  },
  { name: 'producer-app', fastify: '5.x' },
);

export interface BuildOptions extends ProducerAppOptions {
  /** false silences logs (tests). Default: JSON logs at config.LOG_LEVEL. */
  logger?: boolean;
  /** Log lines go here instead of stdout (tests). */
  logStream?: { write(line: string): void };
}

/** A ready-to-listen producer with the shared server settings. */
export async function buildProducerApp(options: BuildOptions): Promise<FastifyInstance> {
  const app = createServer({
    logLevel: options.config.LOG_LEVEL,
    logger: options.logger ?? true,
    longestResponseMs: options.config.MAX_DELAY_MS,
    ...(options.logStream ? { logStream: options.logStream } : {}),
  });
  await app.register(producerApp, options);
  return app;
}
