// The producer as a Fastify plugin; server.ts owns the process, tests build it with buildProducerApp.
import { configPlugin } from '@s2s/service-kit/config';
import { identityPlugin, type IdentityResolver } from '@s2s/service-kit/identity';
import { metricsPlugin } from '@s2s/service-kit/metrics';
import { probesPlugin } from '@s2s/service-kit/probes';
import { problemDetailsPlugin } from '@s2s/service-kit/problem';
import { createServer } from '@s2s/service-kit/server';
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
}

export const producerApp = fp(
  async function producer(fastify: FastifyInstance, options: ProducerAppOptions) {
    await fastify.register(configPlugin, { config: options.config });
    await fastify.register(problemDetailsPlugin);
    await fastify.register(probesPlugin);
    await fastify.register(metricsPlugin);
    await fastify.register(
      identityPlugin,
      options.identity
        ? { resolver: options.identity }
        : {
            service: SERVICE_NAME,
            env: options.config,
            ...(options.metadataUrl === undefined ? {} : { metadataUrl: options.metadataUrl }),
          },
    );
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
