// The caller process: config from the environment, listen, graceful shutdown on SIGTERM.
import { loadConfigOrExit } from '@s2s/service-kit/config';
import { LISTEN_BACKLOG } from '@s2s/service-kit/server';
import { drainTimeoutFor, installGracefulShutdown } from '@s2s/service-kit/shutdown';
import { shutdownTelemetry } from '@s2s/telemetry/shutdown';
import { SERVICE_NAME, buildCallerApp } from './app.js';
import { loadCallerConfig } from './config.js';

const config = loadConfigOrExit(SERVICE_NAME, () => loadCallerConfig(process.env));
const app = await buildCallerApp({ config });
// Spans of the drained requests are flushed after the server closed (a no-op without
// `--import @s2s/telemetry/register`).
installGracefulShutdown(app, {
  shutdownDelayMs: config.SHUTDOWN_DELAY_MS,
  // The longest request waits for the producer at most PRODUCER_TIMEOUT_MS (retries included);
  // a delay above it is cut by that deadline.
  drainTimeoutMs: drainTimeoutFor(config.PRODUCER_TIMEOUT_MS),
  afterClose: [shutdownTelemetry],
});
await app.listen({ port: config.PORT, host: config.HOST, backlog: LISTEN_BACKLOG });
