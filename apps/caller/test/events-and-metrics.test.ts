// GET /caller/events (the breaker's true state as Server-Sent Events) and the /metrics series
// the contract names: s2s_build_info, and a client-histogram edge just above the timeout.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildTestCaller, startProducer, type RunningProducer } from './helpers.js';

let caller: FastifyInstance | undefined;
let producer: RunningProducer | undefined;
afterEach(async () => {
  await caller?.close();
  await producer?.app.close();
  caller = undefined;
  producer = undefined;
});

interface BreakerEvent {
  state: string;
  from: string | null;
  at: string;
}

/** Reads `breaker` events from an open event stream, one at a time. */
function breakerEvents(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  return {
    async next(timeoutMs = 10_000): Promise<BreakerEvent | 'ended'> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const lines = block.split('\n');
          if (!lines.includes('event: breaker')) continue; // retry:, heartbeats
          const data = lines.find((line) => line.startsWith('data: '))?.slice(6) ?? '';
          return JSON.parse(data) as BreakerEvent;
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no event within ${timeoutMs} ms; got so far: ${buffer}`);
        const chunk = await Promise.race([
          reader.read(),
          new Promise<never>((_, reject) =>
            setTimeout(() => reject(new Error(`no event within ${timeoutMs} ms`)), left),
          ),
        ]);
        if (chunk.done) return 'ended';
        buffer += decoder.decode(chunk.value, { stream: true });
      }
    },
  };
}

async function post(app: FastifyInstance, body: unknown) {
  return app.inject({
    method: 'POST',
    url: '/caller/messages',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
}

describe('GET /caller/events', () => {
  it('sends the current state on connect, every transition as it happens, and ends on shutdown', async () => {
    producer = await startProducer();
    caller = await buildTestCaller(producer.port);
    await caller.listen({ port: 0, host: '127.0.0.1' });
    const { port } = caller.server.address() as AddressInfo;

    const response = await fetch(`http://127.0.0.1:${port}/caller/events`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = breakerEvents(response.body as ReadableStream<Uint8Array>);

    const first = await events.next();
    expect(first).toMatchObject({ state: 'closed', from: null });
    expect(Number.isNaN(Date.parse((first as BreakerEvent).at))).toBe(false);

    // The UI demo: three 500s in a row at a click's pace open the breaker.
    for (let i = 0; i < 3; i += 1) {
      expect((await post(caller, { payload: 'p', responseCode: 500 })).statusCode).toBe(502);
    }
    const opened = await events.next();
    expect(opened).toMatchObject({ state: 'open', from: 'closed' });

    // A second client joining now is told the true state without sending a call.
    const late = await fetch(`http://127.0.0.1:${port}/caller/events`);
    expect(await breakerEvents(late.body as ReadableStream<Uint8Array>).next()).toMatchObject({
      state: 'open',
      from: null,
    });

    // Shutdown ends the streams instead of waiting on them forever.
    const closing = caller.close();
    expect(await events.next()).toBe('ended');
    await closing;
    caller = undefined;
  });
});

describe('/metrics series the contract names', () => {
  it('s2s_build_info carries service and version, value 1, on both apps', async () => {
    producer = await startProducer();
    caller = await buildTestCaller(producer.port);
    const callerMetrics = (await caller.inject({ url: '/metrics' })).body;
    expect(callerMetrics).toContain('s2s_build_info{service="sample-caller",version="v1"} 1\n');
    const producerMetrics = (await producer.app.inject({ url: '/metrics' })).body;
    expect(producerMetrics).toMatch(
      /s2s_build_info\{service="sample-producer",version="[^"]+"\} 1\n/,
    );
  });

  it.each([
    ['3000', '3.15'],
    ['1000', '1.05'],
  ])(
    'with PRODUCER_TIMEOUT_MS=%s the client histogram has an edge within 10 %% above it (le="%s")',
    async (timeoutMs, edge) => {
      producer = await startProducer();
      caller = await buildTestCaller(producer.port, { PRODUCER_TIMEOUT_MS: timeoutMs });
      await post(caller, { payload: 'p' });
      const metrics = (await caller.inject({ url: '/metrics' })).body;
      const edges = [
        ...metrics.matchAll(/http_client_request_duration_seconds_bucket\{[^}]*le="([^"]+)"/g),
      ].map((m) => m[1]);
      expect(edges).toContain(edge);
      const timeoutSeconds = Number(timeoutMs) / 1000;
      const numeric = edges.filter((e) => e !== '+Inf').map(Number);
      expect(numeric.some((e) => e > timeoutSeconds && e <= timeoutSeconds * 1.1)).toBe(true);
    },
  );
});
