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

export async function buildTestProducer(
  env: Record<string, string> = {},
): Promise<FastifyInstance> {
  const config = loadProducerConfig({ ...IDENTITY_ENV, ...env });
  const app = await buildProducerApp({ config, logger: false, metadataUrl: false });
  await app.ready();
  return app;
}
