// Admission control (load shedding): while the event loop lags or the heap is nearly full, new
// requests are refused at once with 503 problem+json and Retry-After, before any work is done for
// them, so the requests already admitted finish and the process never runs out of memory.
// Probes and /metrics are exempt (route config `admission: false`): the kubelet must keep seeing
// a live process, and an operator the reason it sheds.
//
// The same signals as @fastify/under-pressure (event-loop delay from perf_hooks' histogram,
// heap used against V8's limit, sampled on an unref'd timer), written out here because the
// exemption is by route config and the answer must be a problem+json like every other error;
// the check on each request is two comparisons.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge } from 'prom-client';
import { problem, sendProblem } from './problem.js';
import { installRequestQueue, type RequestQueueOptions } from './request-queue.js';

export interface AdmissionOptions {
  /**
   * Event-loop delay above which new requests are refused, once three samples in a row saw it. Well below
   * the probes' 2 s timeout, so the process sheds long before a probe could fail.
   * **Default:** `200`
   */
  maxEventLoopDelayMs?: number;
  /** Heap used over V8's heap limit above which new requests are refused. **Default:** `0.85` */
  maxHeapUsedRatio?: number;
  /** How often the signals are sampled (a block longer than this is seen whole). **Default:** `100` */
  sampleIntervalMs?: number;
  /** The Retry-After of a refusal, in seconds. **Default:** `2` */
  retryAfterSeconds?: number;
  /**
   * The fair request queue in front of the app (request-queue.ts): probes and /metrics are
   * handled on arrival, a burst waits in turns, and a request that waited too long is refused.
   * `false` leaves the server's listener alone. **Default:** the queue's defaults
   */
  queue?: Omit<RequestQueueOptions, 'onShed' | 'retryAfterSeconds'> | false;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `false`: never refused by admission control (probes, /metrics). */
    admission?: boolean;
  }
  interface FastifyInstance {
    admission: {
      /** Why new requests are refused now, or null while they are admitted. */
      pressure(): 'event_loop_delay' | 'heap' | null;
    };
  }
}

export const admissionPlugin = fp(
  async function admission(fastify: FastifyInstance, options: AdmissionOptions) {
    const maxDelayMs = options.maxEventLoopDelayMs ?? 200;
    const maxHeapRatio = options.maxHeapUsedRatio ?? 0.85;
    const intervalMs = options.sampleIntervalMs ?? 100;
    const retryAfter = String(options.retryAfterSeconds ?? 2);
    const heapLimit = getHeapStatistics().heap_size_limit;
    // A backlog, not a pause: shed after this many consecutive samples over the threshold.
    const LATE_SAMPLES_TO_SHED = 3;

    const histogram = monitorEventLoopDelay({ resolution: 10 });
    let pressure: 'event_loop_delay' | 'heap' | null = null;
    let delayMs = 0;
    let heapRatio = 0;
    let lastSampleAt = performance.now();
    let lateSamples = 0;
    const sample = (): void => {
      const now = performance.now();
      // Two readings of the same lag: the histogram's mean over the interval (sustained lag; it
      // includes its own 10 ms resolution; no reading at all means the loop never got to its
      // 10 ms timer) and how late this timer itself fired (one long block, which the histogram
      // records only after this timer has run).
      const meanMs = histogram.count === 0 ? intervalMs : Math.max(0, histogram.mean / 1e6 - 10);
      const latenessMs = now - lastSampleAt - intervalMs;
      lastSampleAt = now;
      delayMs = Math.max(meanMs, latenessMs);
      histogram.reset();
      heapRatio = getHeapStatistics().used_heap_size / heapLimit;
      // One or two late samples are a pause (a GC, a start-up compile, a busy neighbour on the
      // node); three in a row are a backlog.
      lateSamples = delayMs > maxDelayMs ? lateSamples + 1 : 0;
      const next =
        lateSamples >= LATE_SAMPLES_TO_SHED
          ? 'event_loop_delay'
          : heapRatio > maxHeapRatio
            ? 'heap'
            : null;
      if (next !== pressure) {
        fastify.log.warn(
          { pressure: next, eventLoopDelayMs: delayMs, heapUsedRatio: heapRatio },
          'admission changed',
        );
      }
      pressure = next;
    };
    // Sampling starts once the app is ready: building it (schema compilation) is one long
    // synchronous stretch that says nothing about load.
    let timer: NodeJS.Timeout | undefined;
    fastify.addHook('onReady', async () => {
      histogram.enable();
      lastSampleAt = performance.now();
      timer = setInterval(sample, intervalMs);
      timer.unref();
    });
    fastify.addHook('onClose', async () => {
      clearInterval(timer);
      histogram.disable();
    });
    fastify.decorate('admission', { pressure: () => pressure });

    const refused = fastify.hasDecorator('metrics')
      ? new Counter({
          name: 'admission_refused_total',
          help: 'Requests refused with 503 by admission control, by reason (queue_delay: waited too long in the fair queue).',
          labelNames: ['reason'] as const,
          registers: [fastify.metrics.registry],
        })
      : undefined;
    if (options.queue !== false) {
      const queue = installRequestQueue(fastify.server, {
        ...options.queue,
        retryAfterSeconds: Number(retryAfter),
        onShed: () => refused?.inc({ reason: 'queue_delay' }),
      });
      fastify.addHook('onClose', async () => queue.uninstall());
    }

    if (fastify.hasDecorator('metrics')) {
      new Gauge({
        name: 'admission_refusing',
        help: 'Whether new requests are refused by admission control (1) or admitted (0).',
        registers: [fastify.metrics.registry],
        collect() {
          this.set(pressure === null ? 0 : 1);
        },
      });
    }

    fastify.addHook('onRequest', async (request, reply) => {
      if (pressure === null || request.routeOptions.config.admission === false) return;
      refused?.inc({ reason: pressure });
      reply.header('retry-after', retryAfter);
      return sendProblem(
        reply,
        problem(
          503,
          pressure === 'heap'
            ? 'Overloaded: memory is nearly exhausted; retry later.'
            : 'Overloaded: the server is behind on its work; retry later.',
        ),
      );
    });
  },
  { name: 'admission', fastify: '5.x' },
);
