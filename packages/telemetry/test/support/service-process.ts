// Starts a service in a child process the way production does
// (`node --import @s2s/telemetry/register <entry>`), with only the test's own OTEL_* variables.
import { fileURLToPath } from 'node:url';
import { startNodeService, type LogLine, type NodeService } from '@s2s/test-support/node-service';

export type { LogLine };

/** The package root: `@s2s/telemetry/register` resolves from here through package self-reference. */
export const PACKAGE_DIR = fileURLToPath(new URL('../../', import.meta.url));

export interface ServiceProcess {
  readonly origin: string;
  readonly logs: readonly LogLine[];
  readonly stderr: () => string;
  /** Resolves with the first log line matching `predicate` (lines arrive through a pipe, after the HTTP answer). */
  waitForLog: NodeService['waitForLog'];
  /** SIGTERM, then waits for exit (the fixture closes the app and flushes telemetry). */
  stop(): Promise<number | null>;
}

export interface StartOptions {
  entry: string;
  env: Record<string, string | undefined>;
  /** Default true: start with `--import @s2s/telemetry/register`. */
  register?: boolean;
  readyTimeoutMs?: number;
}

/** Environment with every OTEL_* variable of the test runner removed, so only the test's own apply. */
function cleanEnv(extra: Record<string, string | undefined>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('OTEL_')) env[key] = value;
  }
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

export async function startService(options: StartOptions): Promise<ServiceProcess> {
  const service = await startNodeService({
    args: [
      ...(options.register === false ? [] : ['--import', '@s2s/telemetry/register']),
      options.entry,
    ],
    cwd: PACKAGE_DIR,
    env: cleanEnv({ LOG_LEVEL: 'info', ...options.env }),
    startTimeoutMs: options.readyTimeoutMs ?? 20_000,
  });
  return {
    origin: service.url,
    logs: service.logs,
    stderr: service.stderr,
    waitForLog: service.waitForLog,
    stop: () => service.stop(10_000),
  };
}
