// Starts a service in a child process the way production does
// (`node --import @s2s/telemetry/register <entry>`) and collects its pino JSON lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

/** The package root: `@s2s/telemetry/register` resolves from here through package self-reference. */
export const PACKAGE_DIR = fileURLToPath(new URL('../../', import.meta.url));

export interface LogLine {
  msg?: string;
  trace_id?: string;
  span_id?: string;
  trace_flags?: string;
  [key: string]: unknown;
}

export interface ServiceProcess {
  readonly origin: string;
  readonly logs: readonly LogLine[];
  readonly stderr: () => string;
  /** Resolves with the first log line matching `predicate` (lines arrive through a pipe, after the HTTP answer). */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** SIGTERM, then waits for exit (the fixture closes the app and flushes telemetry). */
  stop(): Promise<number | null>;
}

export interface StartOptions {
  entry: string;
  env: Record<string, string | undefined>;
  /** Default true: start with `--import @s2s/telemetry/register`. */
  register?: boolean;
  readyTimeoutMs?: number;
  /** Prints the port once listening. Default: the fixtures' `{"msg":"listening","port":N}` line. */
  portFromLog?: (line: LogLine) => number | undefined;
}

/** Environment with every OTEL_* variable of the test runner removed, so only the test's own apply. */
function cleanEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('OTEL_')) env[key] = value;
  }
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

const defaultPortFromLog = (line: LogLine): number | undefined =>
  line.msg === 'listening' && typeof line.port === 'number' ? line.port : undefined;

export async function startService(options: StartOptions): Promise<ServiceProcess> {
  const args = [
    ...(options.register === false ? [] : ['--import', '@s2s/telemetry/register']),
    options.entry,
  ];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: PACKAGE_DIR,
    env: cleanEnv({ LOG_LEVEL: 'info', ...options.env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const logListeners = new Set<(line: LogLine) => void>();
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const portFromLog = options.portFromLog ?? defaultPortFromLog;

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${options.entry} did not start in time; stderr: ${stderr}`)),
      options.readyTimeoutMs ?? 20_000,
    );
    createInterface({ input: child.stdout! }).on('line', (text) => {
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        return;
      }
      logs.push(line);
      for (const listener of logListeners) listener(line);
      const found = portFromLog(line);
      if (found !== undefined) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${options.entry} exited with ${code} before listening; stderr: ${stderr}`));
    });
  });

  return {
    origin: `http://127.0.0.1:${port}`,
    logs,
    stderr: () => stderr,
    waitForLog(predicate, timeoutMs = 10_000) {
      const seen = logs.find(predicate);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const listener = (line: LogLine): void => {
          if (!predicate(line)) return;
          clearTimeout(timer);
          logListeners.delete(listener);
          resolve(line);
        };
        const timer = setTimeout(() => {
          logListeners.delete(listener);
          reject(new Error(`${options.entry}: no matching log line within ${timeoutMs} ms`));
        }, timeoutMs);
        logListeners.add(listener);
      });
    },
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const [code] = (await exited) as [number | null];
      clearTimeout(killer);
      return code;
    },
  };
}
