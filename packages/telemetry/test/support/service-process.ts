// Starts a service in a child process the way production does
// (`node --import @s2s/telemetry/register <entry>`) and collects its pino JSON lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
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
  /**
   * Port the service is told to listen on (e.g. through `PORT`); readiness is then a 200 from
   * `GET /livez`. Without it the port is read from the log (`portFromLog`).
   */
  port?: number;
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

async function waitForLivez(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const answer = await fetch(`http://127.0.0.1:${port}/livez`);
      await answer.arrayBuffer();
      if (answer.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`no 200 from /livez on port ${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function waitForLine(
  logs: readonly LogLine[],
  listeners: Set<(line: LogLine) => void>,
  portFromLog: (line: LogLine) => number | undefined,
  timeoutMs: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const check = (line: LogLine): boolean => {
      const found = portFromLog(line);
      if (found === undefined) return false;
      clearTimeout(timer);
      listeners.delete(listener);
      resolve(found);
      return true;
    };
    const listener = (line: LogLine): void => void check(line);
    const timer = setTimeout(() => {
      listeners.delete(listener);
      reject(new Error(`no listening line within ${timeoutMs} ms`));
    }, timeoutMs);
    listeners.add(listener);
    logs.some(check);
  });
}

/** A port that was free a moment ago (for services that must be told their port). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  probe.close();
  await once(probe, 'close');
  return port;
}

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

  const readyTimeoutMs = options.readyTimeoutMs ?? 20_000;
  const exited = new Promise<never>((_resolve, reject) => {
    child.once('exit', (code) =>
      reject(
        new Error(`${options.entry} exited with ${code} before it was ready; stderr: ${stderr}`),
      ),
    );
  });
  exited.catch(() => undefined);
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      return;
    }
    logs.push(line);
    for (const listener of logListeners) listener(line);
  });

  let port: number;
  try {
    const ready =
      options.port !== undefined
        ? waitForLivez(options.port, readyTimeoutMs).then(() => options.port!)
        : waitForLine(logs, logListeners, portFromLog, readyTimeoutMs);
    port = await Promise.race([ready, exited]);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${options.entry} did not start: ${String(error)}; stderr: ${stderr}`, {
      cause: error,
    });
  }

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
