// Starts a deployed app the way its image does (the Dockerfile's CMD, `node …`) as its own process
// on 127.0.0.1: the shared node-service helper reads the origin back from Fastify's
// "Server listening at" line and stops the app with SIGTERM.
import { startNodeService, type StartedNodeService } from '@s2s/test-support/node-service';

export type RunningApp = StartedNodeService;

export async function startApp(options: {
  /** The image's CMD: `node` and its arguments. */
  command: string[];
  cwd: string;
  env: Record<string, string>;
  startTimeoutMs?: number;
}): Promise<RunningApp> {
  const [file, ...args] = options.command;
  if (file !== 'node')
    throw new Error(`expected a CMD that runs node, got: ${options.command.join(' ')}`);
  return startNodeService({
    args,
    cwd: options.cwd,
    env: options.env,
    ...(options.startTimeoutMs === undefined ? {} : { startTimeoutMs: options.startTimeoutMs }),
  });
}
