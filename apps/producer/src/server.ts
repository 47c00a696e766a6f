// The producer process: config from the environment, listen, graceful shutdown on SIGTERM.
import { loadConfigOrExit } from '@s2s/service-kit/config';
import { installGracefulShutdown } from '@s2s/service-kit/shutdown';
import { SERVICE_NAME, buildProducerApp } from './app.js';
import { loadProducerConfig } from './config.js';

const config = loadConfigOrExit(SERVICE_NAME, () => loadProducerConfig(process.env));
const app = await buildProducerApp({ config });
installGracefulShutdown(app, { shutdownDelayMs: config.SHUTDOWN_DELAY_MS });
await app.listen({ port: config.PORT, host: config.HOST });
