// `fastify.producerClient`: the shared resilient client for the producer, built from the config
// and closed (Agent and breaker) when the app closes.
import { createServiceClient, type ServiceClient } from '@s2s/service-client';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    producerClient: ServiceClient;
  }
}

export const producerClientPlugin = fp(
  async function producerClient(fastify: FastifyInstance) {
    const config = fastify.config;
    const client = createServiceClient({
      origin: config.PRODUCER_URL,
      ...(config.PRODUCER_CONNECT_TO ? { connectTo: config.PRODUCER_CONNECT_TO } : {}),
      timeoutMs: config.PRODUCER_TIMEOUT_MS,
      // One socket per call in flight: an admitted call never waits for a connection, so its
      // deadline is only charged for time spent with the producer.
      connections: config.PRODUCER_MAX_IN_FLIGHT,
      maxInFlight: config.PRODUCER_MAX_IN_FLIGHT,
      maxRequestsPerConnection: config.PRODUCER_MAX_REQUESTS_PER_CONNECTION,
      failureThreshold: config.BREAKER_FAILURE_THRESHOLD,
      resetMs: config.BREAKER_RESET_MS,
    });
    fastify.decorate('producerClient', client);
    fastify.addHook('onClose', async () => {
      await client.close();
    });
  },
  { name: 'producer-client', fastify: '5.x', dependencies: ['config'] },
);
