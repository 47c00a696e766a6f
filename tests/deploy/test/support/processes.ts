// Starts a deployed app as its own Node process on 127.0.0.1 (port 0: the kernel picks a free
// port, read back from Fastify's "Server listening at" log line) and stops it with SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export interface RunningApp {
  url: string;
  output: () => string;
  /** SIGTERM, then resolves with the exit code (rejects if the process does not exit in time). */
  stop: (timeoutMs?: number) => Promise<number | null>;
}

export async function startApp(options: {
  command: string[];
  cwd: string;
  env: Record<string, string>;
  startTimeoutMs?: number;
}): Promise<RunningApp> {
  const [file, ...args] = options.command;
  if (!file) throw new Error('empty command');
  const child: ChildProcess = spawn(file === 'node' ? process.execPath : file, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${args.join(' ')} did not listen within ${options.startTimeoutMs ?? 30_000} ms:\n${output}`,
        ),
      );
    }, options.startTimeoutMs ?? 30_000);
    const onData = (): void => {
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited with ${code} before listening:\n${output}`));
    });
  });

  return {
    url,
    output: () => output,
    stop: async (timeoutMs = 15_000) => {
      if (child.exitCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
        if (signal === 'SIGKILL')
          throw new Error(`did not exit within ${timeoutMs} ms of SIGTERM:\n${output}`);
        return code;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
