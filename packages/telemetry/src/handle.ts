// The running SDK is kept on a global symbol rather than in module state: the `--import` entry
// and the app's `import '@s2s/telemetry/shutdown'` may resolve to two copies of this package
// (e.g. a bundled or `pnpm deploy`ed image next to a global install), and shutdown must still
// find the one that was started.
export interface TelemetryHandle {
  shutdown(): Promise<void>;
}

const HANDLE_KEY = Symbol.for('s2s.telemetry.handle');

type GlobalWithHandle = typeof globalThis & { [HANDLE_KEY]?: TelemetryHandle };

export function setTelemetryHandle(handle: TelemetryHandle | undefined): void {
  (globalThis as GlobalWithHandle)[HANDLE_KEY] = handle;
}

export function getTelemetryHandle(): TelemetryHandle | undefined {
  return (globalThis as GlobalWithHandle)[HANDLE_KEY];
}
