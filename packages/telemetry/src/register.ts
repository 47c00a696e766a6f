// Entry loaded before the app: `node --import @s2s/telemetry/register dist/server.js`.
// Order matters: the ESM loader hook must be registered before the instrumentations are
// constructed (their constructors declare which modules to patch), and both before the app's
// first import.
import { register } from 'node:module';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import { setTelemetryHandle } from './handle.js';
import { readTelemetrySettings } from './settings.js';
import { startTelemetry } from './start.js';

const settings = readTelemetrySettings(process.env, process.argv[1]);

if (!settings.disabled) {
  for (const warning of settings.warnings) process.emitWarning(warning, { code: 'S2S_TELEMETRY' });

  // The loader hook only intercepts the modules that an instrumentation has asked for (the
  // message channel tells it which), instead of wrapping every ESM module of the app: the
  // setup documented by import-in-the-middle for `--import` entries.
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);

  setTelemetryHandle(startTelemetry(settings));

  await waitForAllMessagesAcknowledged();
}
