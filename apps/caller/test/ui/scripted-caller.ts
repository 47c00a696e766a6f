// A stand-in caller for browser tests: serves apps/caller/public under a path prefix and answers
// `POST <prefix>caller/messages` with scripted responses, recording the bodies it got.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface ScriptedResponse {
  status: number;
  body: unknown;
  contentType?: string;
  /** Close the socket without answering: the browser sees a network error. */
  destroy?: boolean;
}

export interface ScriptedCaller {
  /** Page URL, ending in the prefix (e.g. http://127.0.0.1:1234/some/prefix/). */
  url: string;
  /** Answers for the next POSTs, in order; when empty, an ok envelope is the answer. */
  script: ScriptedResponse[];
  /** Parsed JSON bodies of the POSTs received so far. */
  received: unknown[];
  /** The x-fault-injection-token header of each POST (undefined when absent). */
  faultTokens: Array<string | undefined>;
  /** Paths requested that did not exist (a relative-URL mistake shows up here). */
  notFound: string[];
  close(): Promise<void>;
}

export async function startScriptedCaller(
  prefix: string,
  fallback: () => ScriptedResponse,
): Promise<ScriptedCaller> {
  const script: ScriptedResponse[] = [];
  const received: unknown[] = [];
  const faultTokens: Array<string | undefined> = [];
  const notFound: string[] = [];

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const send = (status: number, contentType: string, body: string | Buffer) => {
      res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
      res.end(body);
    };

    if (req.method === 'POST' && path === `${prefix}caller/messages`) {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        const token = req.headers['x-fault-injection-token'];
        faultTokens.push(typeof token === 'string' ? token : undefined);
        const next = script.shift() ?? fallback();
        if (next.destroy) {
          req.socket.destroy();
          return;
        }
        const body = typeof next.body === 'string' ? next.body : JSON.stringify(next.body);
        send(next.status, next.contentType ?? 'application/json; charset=utf-8', body);
      });
      return;
    }

    // No event stream here: 204 tells an EventSource to give up, so the page falls back to the
    // breaker state of each envelope (what these scripted answers drive).
    if (req.method === 'GET' && path === `${prefix}caller/events`) {
      res.writeHead(204, { 'cache-control': 'no-store' });
      res.end();
      return;
    }
    if (req.method === 'GET' && path === `${prefix}ui-config.json`) {
      send(200, 'application/json', JSON.stringify({ traceUrlTemplate: null }));
      return;
    }

    if (req.method === 'GET' && path.startsWith(prefix)) {
      const relative = path.slice(prefix.length) || 'index.html';
      const file = normalize(join(PUBLIC_DIR, decodeURIComponent(relative)));
      if (file.startsWith(PUBLIC_DIR.endsWith(sep) ? PUBLIC_DIR : PUBLIC_DIR + sep)) {
        readFile(file).then(
          (content) =>
            send(200, CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', content),
          () => {
            notFound.push(path);
            send(404, 'text/plain', 'not found');
          },
        );
        return;
      }
    }
    notFound.push(path);
    send(404, 'text/plain', 'not found');
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    script,
    received,
    faultTokens,
    notFound,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
