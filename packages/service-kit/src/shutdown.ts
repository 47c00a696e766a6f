// Graceful shutdown (docs/contract.md, "SIGTERM"): readiness goes 503 at once, requests keep being
// served for SHUTDOWN_DELAY_MS so every proxy learns the endpoint is gone, then the server stops
// accepting, drains in-flight requests, runs the after-close steps (telemetry flush) and exits 0.
import { setTimeout as sleep } from 'node:timers/promises';
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';

export interface GracefulShutdownOptions {
  /** How long to keep serving after SIGTERM before closing (SHUTDOWN_DELAY_MS). */
  shutdownDelayMs: number;
  /**
   * Time allowed for draining after the delay; past it the process exits 1. Keep
   * `shutdownDelayMs + drainTimeoutMs` below the pod's terminationGracePeriodSeconds (30 s).
   * **Default:** `20000`
   */
  drainTimeoutMs?: number;
  /** Run after the server closed, e.g. flushing telemetry. Failures are logged. */
  afterClose?: Array<() => Promise<void>>;
}

export function installGracefulShutdown(
  app: FastifyInstance,
  options: GracefulShutdownOptions,
): { close: () => void; uninstall: () => void } {
  const { shutdownDelayMs } = options;
  const drainTimeoutMs = options.drainTimeoutMs ?? 20_000;
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
        app.log.info({ signal, shutdownDelayMs }, 'shutdown started: readiness is now 503');
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
