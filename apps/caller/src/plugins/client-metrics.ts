// The producer client's metrics, fed by its events: call durations and counts by outcome, and the
// circuit breaker's state and transitions (docs/contract.md, "Both apps" → /metrics).
import type { BreakerState, BreakerTransition, CallCompleteEvent } from '@s2s/service-client';
import { bucketsWithTimeoutEdge } from '@s2s/service-kit/metrics';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram } from 'prom-client';

const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half_open'];

export const clientMetricsPlugin = fp(
  async function clientMetrics(fastify: FastifyInstance) {
    const registers = [fastify.metrics.registry];
    const client = fastify.producerClient;
    const upstream = client.upstream;

    const duration = new Histogram({
      name: 'http_client_request_duration_seconds',
      help: 'Duration of calls to an upstream through the shared client, by outcome.',
      labelNames: ['upstream', 'outcome'] as const,
      // An edge just above PRODUCER_TIMEOUT_MS (docs/contract.md): timeouts read as the timeout.
      buckets: bucketsWithTimeoutEdge(fastify.config.PRODUCER_TIMEOUT_MS),
      registers,
    });
    const requests = new Counter({
      name: 'http_client_requests_total',
      help: 'Calls to an upstream through the shared client, by outcome.',
      labelNames: ['upstream', 'outcome'] as const,
      registers,
    });
    const breakerState = new Gauge({
      name: 'circuit_breaker_state',
      help: 'Circuit breaker state per upstream: 1 for the current state, 0 for the others.',
      labelNames: ['upstream', 'state'] as const,
      registers,
    });
    const transitions = new Counter({
      name: 'circuit_breaker_transitions_total',
      help: 'Circuit breaker state changes per upstream, by the state entered.',
      labelNames: ['upstream', 'to'] as const,
      registers,
    });

    const showState = (current: BreakerState): void => {
      for (const state of BREAKER_STATES) {
        breakerState.set({ upstream, state }, state === current ? 1 : 0);
      }
    };
    showState(client.breakerState());
    // Every series exists from the start, so a dashboard shows 0 rather than "no data".
    for (const state of BREAKER_STATES) transitions.inc({ upstream, to: state }, 0);

    const onCallComplete = (result: CallCompleteEvent): void => {
      const labels = { upstream, outcome: result.outcome };
      duration.observe(labels, result.latencyMs / 1000);
      requests.inc(labels);
    };
    const onTransition = (transition: BreakerTransition): void => {
      transitions.inc({ upstream, to: transition.to });
      showState(transition.to);
    };
    client.on('callComplete', onCallComplete);
    client.on('breakerTransition', onTransition);
    fastify.addHook('onClose', async () => {
      client.off('callComplete', onCallComplete);
      client.off('breakerTransition', onTransition);
    });
  },
  { name: 'client-metrics', fastify: '5.x', dependencies: ['metrics', 'producer-client'] },
);
