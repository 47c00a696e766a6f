import type { FastifyInstance } from 'fastify';
import { buildProducerApp } from '../src/app.js';
import { loadProducerConfig } from '../src/config.js';

/** Identity variables set so no test ever asks a metadata server. */
export const IDENTITY_ENV = {
  CLUSTER_NAME: 'cluster-b',
  CLUSTER_LOCATION: 'us-central1-a',
  POD_NAME: 'sample-producer-abc',
  POD_IP: '10.1.2.3',
  APP_VERSION: 'v1',
};

/**
 * In-process, the event loop is the test runner's (fast-check loops, other tests' work): its
 * lag says nothing about the app under test, so event-loop shedding is set out of reach here.
 * Admission control itself is tested with its own settings (service-kit, retry-after.test.ts).
 */
export const IN_PROCESS_ADMISSION = { maxEventLoopDelayMs: 60_000 };

export async function buildTestProducer(
  env: Record<string, string> = {},
): Promise<FastifyInstance> {
  const config = loadProducerConfig({ ...IDENTITY_ENV, ...env });
  const app = await buildProducerApp({
    config,
    logger: false,
    metadataUrl: false,
    admission: IN_PROCESS_ADMISSION,
  });
  await app.ready();
  return app;
}
