import { freePort } from '@s2s/test-support/free-port';
import type { AddressInfo } from 'node:net';
import { buildProducerApp } from '@s2s/producer/app';
import { loadProducerConfig } from '@s2s/producer/config';
import type { FastifyInstance } from 'fastify';
import { buildCallerApp } from '../src/app.js';
import { loadCallerConfig } from '../src/config.js';

/**
 * In-process, the event loop is the test runner's (fast-check loops, other tests' work): its
 * lag says nothing about the app under test, so event-loop shedding is set out of reach here.
 * Admission control itself is tested with its own settings (retry-after.test.ts, service-kit).
 */
export const IN_PROCESS_ADMISSION = { maxEventLoopDelayMs: 60_000 };

export const PRODUCER_HOST = 'sample-producer.istio-apps.svc.clusterset.local';
export const PRODUCER_URL = `http://${PRODUCER_HOST}:8080`;

/** Identity variables set so no test ever asks a metadata server. */
export const CALLER_IDENTITY_ENV = {
  CLUSTER_NAME: 'cluster-a',
  CLUSTER_LOCATION: 'us-west1-a',
  POD_NAME: 'sample-caller-xyz',
  POD_IP: '10.0.0.7',
  APP_VERSION: 'v1',
};

export const PRODUCER_IDENTITY_ENV = {
  CLUSTER_NAME: 'cluster-b',
  CLUSTER_LOCATION: 'us-central1-a',
  POD_NAME: 'sample-producer-abc',
  POD_IP: '10.1.2.3',
  APP_VERSION: 'v1',
};

export interface RunningProducer {
  app: FastifyInstance;
  port: number;
  /** Requests that reached POST /producer/messages. */
  received: () => number;
}

/** A real producer listening on 127.0.0.1 on a free port. */
export async function startProducer(env: Record<string, string> = {}): Promise<RunningProducer> {
  const app = await buildProducerApp({
    config: loadProducerConfig({ ...PRODUCER_IDENTITY_ENV, ...env }),
    logger: false,
    metadataUrl: false,
    admission: IN_PROCESS_ADMISSION,
  });
  let count = 0;
  app.addHook('onRequest', async (request) => {
    if (request.url === '/producer/messages') count += 1;
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { app, port, received: () => count };
}

/** A port nobody listens on (bound, then released): where an unreachable producer "is". */
export const stoppedPort = freePort;

/** The caller, addressing the producer by its clusterset name, connected to `port` locally. */
export async function buildTestCaller(
  port: number,
  env: Record<string, string> = {},
): Promise<FastifyInstance> {
  const config = loadCallerConfig({
    ...CALLER_IDENTITY_ENV,
    PRODUCER_URL,
    PRODUCER_CONNECT_TO: `${PRODUCER_HOST}:8080:127.0.0.1:${port}`,
    ...env,
  });
  const app = await buildCallerApp({
    config,
    logger: false,
    metadataUrl: false,
    admission: IN_PROCESS_ADMISSION,
  });
  await app.ready();
  return app;
}
