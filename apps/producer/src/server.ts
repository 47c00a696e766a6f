// The producer process: config from the environment, listen, graceful shutdown on SIGTERM.
import { loadConfigOrExit } from '@s2s/service-kit/config';
import { LISTEN_BACKLOG } from '@s2s/service-kit/server';
import { drainTimeoutFor, installGracefulShutdown } from '@s2s/service-kit/shutdown';
import { shutdownTelemetry } from '@s2s/telemetry/shutdown';
import { SERVICE_NAME, buildProducerApp } from './app.js';
import { loadProducerConfig } from './config.js';

const config = loadConfigOrExit(SERVICE_NAME, () => loadProducerConfig(process.env));
const app = await buildProducerApp({ config });
// Spans of the drained requests are flushed after the server closed (a no-op without
// `--import @s2s/telemetry/register`).
installGracefulShutdown(app, {
  shutdownDelayMs: config.SHUTDOWN_DELAY_MS,
  // The longest request is a delayed answer: MAX_DELAY_MS.
  drainTimeoutMs: drainTimeoutFor(config.MAX_DELAY_MS),
  afterClose: [shutdownTelemetry],
});
await app.listen({ port: config.PORT, host: config.HOST, backlog: LISTEN_BACKLOG });
