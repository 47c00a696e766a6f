// The reader of the caller's GET /caller/events stream, over a real socket.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { BreakerEventsWatcher, defaultEventsUrl } from '../src/breaker-events.js';

const servers: { close(): void; closeAllConnections(): void }[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

/** A server whose one events stream the test writes to by hand. */
async function eventsServer(): Promise<{ url: URL; stream: Promise<ServerResponse> }> {
  let resolve!: (response: ServerResponse) => void;
  const stream = new Promise<ServerResponse>((r) => (resolve = r));
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
    resolve(response);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: new URL(`http://127.0.0.1:${port}/caller/events`), stream };
}

const event = (state: string, from: string | null, at = '2027-01-15T08:00:00.000Z'): string =>
  `event: breaker\r\ndata: ${JSON.stringify({ state, from, at })}\r\n\r\n`;
const tick = (ms = 20): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('BreakerEventsWatcher', () => {
  it('keeps the state at the measured start and every transition after it, events split across packets', async () => {
    const { url, stream } = await eventsServer();
    const watcher = new BreakerEventsWatcher(url);
    const started = watcher.start();
    const response = await stream;
    response.write(': heartbeat\n\nretry: 2000\n\n');
    response.write(event('closed', null));
    await started;
    // Before the measured start: decides the initial state, is not a transition of the run.
    response.write(event('open', 'closed'));
    await tick();
    const measuredStart = performance.now();
    const cycle =
      event('half_open', 'open') + event('open', 'half_open') + event('half_open', 'open');
    // One event cut in the middle of its data line, the rest in the next packet.
    response.write(cycle.slice(0, 30));
    await tick();
    response.write(cycle.slice(30));
    response.write(event('closed', 'half_open', '2027-01-15T08:00:01.500Z'));
    response.write('event: other\ndata: {"state":"open"}\n\n'); // not a breaker event
    await tick(50);
    const record = watcher.stop(measuredStart);
    expect(record).toMatchObject({
      url: url.href,
      recorded: true,
      error: null,
      initialState: 'open',
      finalState: 'closed',
    });
    expect(record.transitions.map((t) => `${t.from}->${t.to}`)).toEqual([
      'open->half_open',
      'half_open->open',
      'open->half_open',
      'half_open->closed',
    ]);
    expect(record.transitions.every((t) => t.atMs >= 0)).toBe(true);
    expect(record.transitions.at(-1)!.at).toBe('2027-01-15T08:00:01.500Z');
  });

  it('says the stream closed early, keeping what it recorded before', async () => {
    const { url, stream } = await eventsServer();
    const watcher = new BreakerEventsWatcher(url);
    const started = watcher.start();
    const response = await stream;
    response.write(event('closed', null));
    await started;
    const measuredStart = performance.now();
    response.write(event('open', 'closed'));
    await tick();
    response.end();
    await tick();
    const record = watcher.stop(measuredStart);
    expect(record.recorded).toBe(false);
    expect(record.error).toBe(`GET ${url.href}: the stream closed before the end of the run`);
    expect(record.transitions.map((t) => t.to)).toEqual(['open']);
  });

  it('names the failure when nothing answers, without throwing', async () => {
    const watcher = new BreakerEventsWatcher(new URL('http://127.0.0.1:1/caller/events'));
    await watcher.start();
    const record = watcher.stop(performance.now());
    expect(record).toMatchObject({ recorded: false, initialState: null, transitions: [] });
    expect(record.error).toMatch(/^GET http:\/\/127\.0\.0\.1:1\/caller\/events: ECONNREFUSED/);
  });

  it('finds /caller/events beside the load test URL, a gateway prefix kept', () => {
    const at = (url: string): string => defaultEventsUrl(new URL(url)).href;
    expect(at('http://127.0.0.1:8080/caller/messages')).toBe('http://127.0.0.1:8080/caller/events');
    expect(at('https://gw.example/api/caller/messages?x=1')).toBe(
      'https://gw.example/api/caller/events',
    );
    expect(at('http://127.0.0.1:8080/other')).toBe('http://127.0.0.1:8080/caller/events');
  });
});
