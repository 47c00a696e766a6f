// The caller process: config from the environment, listen, graceful shutdown on SIGTERM.
import { loadConfigOrExit } from '@s2s/service-kit/config';
import { installGracefulShutdown } from '@s2s/service-kit/shutdown';
import { SERVICE_NAME, buildCallerApp } from './app.js';
import { loadCallerConfig } from './config.js';

const config = loadConfigOrExit(SERVICE_NAME, () => loadCallerConfig(process.env));
const app = await buildCallerApp({ config });
installGracefulShutdown(app, { shutdownDelayMs: config.SHUTDOWN_DELAY_MS });
await app.listen({ port: config.PORT, host: config.HOST });
