// Raw HTTP/1.1 over a TCP socket, for what no HTTP client sends: garbled request lines, huge
// headers, requests that never finish.
import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection (it was not kept alive). */
  closed: boolean;
  /** Everything the server sent. */
  raw: string;
}

/** Parses the first HTTP/1.1 answer in `text` (Content-Length framed or empty). */
export function parseAnswer(text: string, closed: boolean): RawAnswer | undefined {
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  const body = text.slice(end + 4, end + 4 + length);
  if (Buffer.byteLength(body) < length) return undefined;
  // Whatever follows a body-less answer on a closed connection would be a body sent anyway.
  const rest = closed ? text.slice(end + 4 + length) : '';
  return {
    status: Number(statusLine.split(' ')[1]),
    headers,
    body: body + rest,
    closed,
    raw: text,
  };
}

/**
 * Writes `chunks` (a string each, `pauseMs` apart) and resolves with the first answer once the
 * server closed the socket or `waitMs` passed.
 */
export async function rawRequest(
  port: number,
  chunks: string[],
  { pauseMs = 0, waitMs = 5_000 }: { pauseMs?: number; waitMs?: number } = {},
): Promise<RawAnswer> {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (text += chunk));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  for (const chunk of chunks) {
    if (socket.destroyed) break;
    socket.write(chunk);
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), waitMs);
  });
  const outcome = await Promise.race([closed.then(() => 'closed' as const), timeout]);
  clearTimeout(timer);
  socket.destroy();
  const answer = parseAnswer(text, outcome === 'closed');
  if (!answer) {
    throw new Error(`no complete answer (${outcome}): ${JSON.stringify(text.slice(0, 200))}`);
  }
  return answer;
}
