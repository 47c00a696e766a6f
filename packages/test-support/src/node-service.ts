// Starts a service as its own Node process, the way its container does (`node … dist/server.js`,
// configured by the environment), waits until it says where it listens, and stops it with
// SIGTERM. The origin is read from Fastify's "Server listening at <origin>" log line, so the
// service can take `PORT=0` and no port is guessed.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/** Fastify's listening line, in pino JSON or plain text. */
export const FASTIFY_LISTENING = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/;

/** One pino JSON line of the service's stdout. */
export interface LogLine {
  msg?: string;
  trace_id?: string;
  span_id?: string;
  trace_flags?: string;
  [key: string]: unknown;
}

export interface NodeServiceOptions {
  /** Arguments of `node` (this process's own binary): options, then the script. */
  args: readonly string[];
  /** The whole environment of the service (nothing is inherited). */
  env: Record<string, string | undefined>;
  cwd?: string;
  /** How long to wait for the listening line. **Default:** `30_000`. */
  startTimeoutMs?: number;
  /** Where the origin is read from: capture group 1 of the first match in the output. **Default:** `FASTIFY_LISTENING`. */
  listening?: RegExp;
}

export interface NodeService {
  readonly child: ChildProcess;
  /** Resolves with the origin once listening; rejects when the process exits or times out first. */
  readonly origin: Promise<string>;
  /** Resolves with the exit code once the process has exited (null when a signal ended it). */
  readonly exit: Promise<number | null>;
  /** stdout and stderr so far, interleaved as they arrived. */
  readonly output: () => string;
  readonly stderr: () => string;
  /** stdout's JSON lines so far (pino logs); other lines are left out. */
  readonly logs: readonly LogLine[];
  /** Resolves with the first log line matching `predicate`, already seen or yet to come. */
  readonly waitForLog: (
    predicate: (line: LogLine) => boolean,
    timeoutMs?: number,
  ) => Promise<LogLine>;
  /**
   * SIGTERM, then resolves with the exit code. A process still running `timeoutMs` later is
   * killed and the promise rejects: a service must exit on SIGTERM. **Default:** `15_000`.
   */
  readonly stop: (timeoutMs?: number) => Promise<number | null>;
}

/** Spawns the service without waiting: for tests of how it starts (or refuses to). */
export function spawnNodeService(options: NodeServiceOptions): NodeService {
  const script = options.args.at(-1) ?? 'node';
  const child = spawn(process.execPath, options.args, {
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stderr = '';
  const logs: LogLine[] = [];
  const logListeners = new Set<(line: LogLine) => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
    stderr += chunk;
  });
  createInterface({ input: child.stdout }).on('line', (text) => {
    if (!text.startsWith('{')) return;
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      return;
    }
    logs.push(line);
    for (const listener of logListeners) listener(line);
  });

  // 'close', not 'exit': by then stdout and stderr have been read to the end.
  const exit = once(child, 'close').then(([code]) => code as number | null);
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const listening = options.listening ?? FASTIFY_LISTENING;
  const origin = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not listen within ${startTimeoutMs} ms:\n${output}`));
    }, startTimeoutMs);
    const onData = (): void => {
      const found = listening.exec(output)?.[1];
      if (found === undefined) return;
      clearTimeout(timer);
      resolve(found);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before listening:\n${output}`));
    });
  });
  // Tests of a refused start only await `exit`.
  origin.catch(() => undefined);

  return {
    child,
    origin,
    exit,
    output: () => output,
    stderr: () => stderr,
    logs,
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
          reject(new Error(`${script}: no matching log line within ${timeoutMs} ms`));
        }, timeoutMs);
        logListeners.add(listener);
      });
    },
    async stop(timeoutMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        const code = await exit;
        if (child.signalCode === 'SIGKILL')
          throw new Error(`${script} did not exit within ${timeoutMs} ms of SIGTERM:\n${output}`);
        return code;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** A service that has said where it listens. */
export interface StartedNodeService extends NodeService {
  /** The origin, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
}

/** Spawns the service and waits until it listens; a service that never does is killed. */
export async function startNodeService(options: NodeServiceOptions): Promise<StartedNodeService> {
  const service = spawnNodeService(options);
  try {
    return Object.assign(service, { url: await service.origin });
  } catch (error) {
    if (service.child.exitCode === null) service.child.kill('SIGKILL');
    throw error;
  }
}
