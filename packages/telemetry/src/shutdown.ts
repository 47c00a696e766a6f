import { getTelemetryHandle, setTelemetryHandle } from './handle.js';

/**
 * Flushes the spans still buffered and stops the SDK. Call it once, after `app.close()` has
 * finished the in-flight requests (their spans end only then). A no-op when the process was not
 * started with `--import @s2s/telemetry/register`, or when `OTEL_SDK_DISABLED=true`.
 * Never rejects: an unreachable collector must not turn a clean shutdown into exit code 1.
 */
export async function shutdownTelemetry(): Promise<void> {
  const handle = getTelemetryHandle();
  if (handle === undefined) return;
  setTelemetryHandle(undefined);
  try {
    await handle.shutdown();
  } catch (error) {
    process.emitWarning(`telemetry shutdown failed: ${String(error)}`, { code: 'S2S_TELEMETRY' });
  }
}

/** Whether `@s2s/telemetry/register` started the SDK in this process. */
export function isTelemetryStarted(): boolean {
  return getTelemetryHandle() !== undefined;
}
