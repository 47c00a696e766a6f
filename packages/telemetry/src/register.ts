// Entry loaded before the app: `node --import @s2s/telemetry/register dist/server.js`.
// Nothing is patched and no loader hook is registered: Fastify announces each new instance on a
// diagnostics channel (fastify-server.ts) and @s2s/service-client makes its own client spans with
// the OpenTelemetry API, so this only has to run before the app creates its Fastify instance.
import { setTelemetryHandle } from './handle.js';
import { readTelemetrySettings } from './settings.js';
import { startTelemetry } from './start.js';

const settings = readTelemetrySettings(process.env, process.argv[1]);

if (!settings.disabled) {
  setTelemetryHandle(await startTelemetry(settings));
  for (const warning of settings.warnings) process.emitWarning(warning, { code: 'S2S_TELEMETRY' });
}
