// Graceful shutdown (docs/contract.md, "SIGTERM"): readiness goes 503 at once, requests keep being
// served for SHUTDOWN_DELAY_MS so every proxy learns the endpoint is gone, then the server stops
// accepting, drains in-flight requests, runs the after-close steps (telemetry flush) and exits 0.
import { setTimeout as sleep } from 'node:timers/promises';
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';

/**
 * Time the drain allows beyond the longest legitimate request: for its last bytes to go out and
 * for the after-close steps. tests/deploy reads this value to check each pod's grace period.
 */
export const DRAIN_MARGIN_MS = 5_000;

/** The drain that lets a request of `longestResponseMs` started just before close() finish. */
export function drainTimeoutFor(longestResponseMs: number): number {
  return longestResponseMs + DRAIN_MARGIN_MS;
}

export interface GracefulShutdownOptions {
  /** How long to keep serving after SIGTERM before closing (SHUTDOWN_DELAY_MS). */
  shutdownDelayMs: number;
  /**
   * Time allowed for draining after the delay; past it the process exits 1. Derive it from the
   * longest request the app serves (`drainTimeoutFor`: the producer's MAX_DELAY_MS, the caller's
   * PRODUCER_TIMEOUT_MS), and keep `shutdownDelayMs + drainTimeoutMs` + the telemetry flush below
   * the pod's terminationGracePeriodSeconds (tests/deploy checks the manifests).
   */
  drainTimeoutMs: number;
  /** Run after the server closed, e.g. flushing telemetry. Failures are logged. */
  afterClose?: Array<() => Promise<void>>;
}

export function installGracefulShutdown(
  app: FastifyInstance,
  options: GracefulShutdownOptions,
): { close: () => void; uninstall: () => void } {
  const { shutdownDelayMs } = options;
  const { drainTimeoutMs } = options;
  return closeWithGrace(
    {
      delay: shutdownDelayMs + drainTimeoutMs,
      logger: { error: (message: unknown) => app.log.error(message) },
    },
    async ({ signal, err }) => {
      app.readiness.markShuttingDown();
      if (err) {
        app.log.error({ err }, 'closing after an unexpected error');
      } else {
        app.log.info(
          { signal, shutdownDelayMs, drainTimeoutMs },
          'shutdown started: readiness is now 503',
        );
        if (shutdownDelayMs > 0) await sleep(shutdownDelayMs);
      }
      await app.close();
      for (const step of options.afterClose ?? []) {
        await step().catch((error: unknown) => app.log.error({ err: error }, 'after-close step'));
      }
      app.log.info('server closed');
    },
  );
}
