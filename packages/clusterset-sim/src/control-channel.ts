/**
 * A helper process (shaper, balancer, DNS, gateway) runs in its own network namespace, so the
 * harness talks to it over a Unix socket in the state directory: file-system sockets are
 * shared across network namespaces. Tiny JSON-over-HTTP: `GET /` for status, `POST /ACTION`.
 */
import fs from 'node:fs';
import http from 'node:http';

export type ControlHandler = (action: string, body: unknown) => unknown;

export async function serveControl(
  socketPath: string,
  handler: ControlHandler,
): Promise<http.Server> {
  fs.rmSync(socketPath, { force: true });
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const reply = (status: number, value: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(value));
      };
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        const body: unknown = text ? JSON.parse(text) : {};
        const action = (request.url ?? '/').replace(/^\//, '') || 'status';
        reply(200, handler(action, body));
      } catch (error) {
        reply(400, { error: error instanceof Error ? error.message : String(error) });
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return server;
}

/** Sends one control request; rejects on a non-200 answer or after `timeoutMs`. */
export function control<T = unknown>(
  socketPath: string,
  action = 'status',
  body: unknown = {},
  timeoutMs = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const request = http.request(
      {
        socketPath,
        method: 'POST',
        path: `/${action}`,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
        timeout: timeoutMs,
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (response.statusCode !== 200) {
            reject(new Error(`control ${action} on ${socketPath}: ${response.statusCode} ${text}`));
            return;
          }
          resolve(JSON.parse(text) as T);
        });
      },
    );
    request.on('timeout', () =>
      request.destroy(new Error(`control ${action}: no answer in ${timeoutMs} ms`)),
    );
    request.on('error', reject);
    request.end(payload);
  });
}
