import { createHook } from 'node:async_hooks';
import { describe, expect, it, vi } from 'vitest';
import { createServiceClient } from '../src/index.js';
import { json, readBody, startTestServer } from './test-server.js';

/** Timers (ref'd or not) created while tracking and not yet cleared or fired. */
function trackTimers(): { live: () => number; stopRecording: () => void; stop: () => void } {
  const live = new Set<number>();
  let recording = true;
  const hook = createHook({
    init(asyncId, type) {
      if (recording && (type === 'Timeout' || type === 'Immediate')) live.add(asyncId);
    },
    destroy(asyncId) {
      live.delete(asyncId);
    },
  }).enable();
  return {
    live: () => live.size,
    stopRecording: () => {
      recording = false;
    },
    stop: () => hook.disable(),
  };
}

function countResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const name of process.getActiveResourcesInfo())
    counts.set(name, (counts.get(name) ?? 0) + 1);
  return counts;
}

describe('under load', () => {
  it('serves 1,000 concurrent calls up to the pool, ends the rest at once as overloaded, and leaks no socket or timer after close', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const server = await startTestServer((req, res) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      void readBody(req).then((body) => {
        setImmediate(() => {
          inFlight -= 1;
          json(res, 200, { echo: JSON.parse(body) as unknown });
        });
      });
    });
    try {
      const before = countResources();
      const timers = trackTimers();
      const client = createServiceClient({
        origin: `http://127.0.0.1:${server.port}`,
        connections: 64,
        timeoutMs: 15_000, // a deadline timer left behind would outlive the checks below
      });
      const callsCompleted: number[] = [];
      client.on('callComplete', () => callsCompleted.push(1));

      const results = await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          client.call({ path: '/producer/messages', json: { id: `m${i}` }, requestId: `r${i}` }),
        ),
      );

      // The in-flight limit defaults to the pool size: 64 go through, 936 never wait for a socket.
      const ok = results.filter((r) => r.outcome === 'ok');
      expect(ok).toHaveLength(64);
      expect(results.filter((r) => r.outcome === 'overloaded')).toHaveLength(936);
      expect(results[0]?.body).toEqual({ echo: { id: 'm0' } });
      expect(server.requests()).toBe(64);
      expect(client.breakerState()).toBe('closed');
      expect(callsCompleted).toHaveLength(1000);
      expect(server.accepted()).toBeLessThanOrEqual(64);
      expect(maxInFlight).toBeLessThanOrEqual(64);

      await client.close();
      timers.stopRecording(); // from here on, only the test's own waiting creates timers
      await vi.waitFor(() => expect(server.open()).toBe(0), { timeout: 5000 });
      await vi.waitFor(
        () => {
          const after = countResources();
          for (const kind of ['TCPSocketWrap', 'Timeout']) {
            expect(after.get(kind) ?? 0, kind).toBeLessThanOrEqual(before.get(kind) ?? 0);
          }
        },
        { timeout: 5000 },
      );
      // Unref'd timers do not show in getActiveResourcesInfo(); async_hooks sees them all.
      await vi.waitFor(() => expect(timers.live()).toBe(0), { timeout: 5000 });
      timers.stop();
    } finally {
      await server.close();
    }
  });
});

describe('close()', () => {
  it('is idempotent and later calls resolve as unreachable without touching the network', async () => {
    const server = await startTestServer((_req, res) => json(res, 200, {}));
    try {
      const client = createServiceClient({ origin: `http://127.0.0.1:${server.port}` });
      expect((await client.call({ path: '/' })).outcome).toBe('ok');
      await Promise.all([client.close(), client.close()]);

      const result = await client.call({ path: '/' });

      expect(result).toMatchObject({ outcome: 'unreachable', errorCode: 'ECLIENTCLOSED' });
      expect(server.requests()).toBe(1);
    } finally {
      await server.close();
    }
  });
});
