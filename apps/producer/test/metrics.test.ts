// The producer's /metrics and access log over a real socket: the status label stays bounded
// whatever code the fault knob asks for, a caller that gives up (client closed the connection)
// is counted and logged as 499, and `promtool check metrics` passes.
import type { AddressInfo } from 'node:net';
import { checkMetrics } from '@s2s/test-support/promtool';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { buildProducerApp } from '../src/app.js';
import { loadProducerConfig } from '../src/config.js';
import { IDENTITY_ENV, IN_PROCESS_ADMISSION } from './helpers.js';

let producer: FastifyInstance | undefined;
afterEach(async () => {
  await producer?.close();
  producer = undefined;
});

async function start(lines: Array<Record<string, unknown>> = []): Promise<string> {
  producer = await buildProducerApp({
    config: loadProducerConfig({ ...IDENTITY_ENV, LOG_LEVEL: 'info' }),
    metadataUrl: false,
    admission: IN_PROCESS_ADMISSION,
    logStream: {
      write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>),
    },
  });
  await producer.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(producer.server.address() as AddressInfo).port}`;
}

// undici's request, not fetch: fetch turns some statuses (407 without Proxy-Authenticate) into errors.
function post(base: string, body: Record<string, unknown>, signal?: AbortSignal) {
  return request(`${base}/producer/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'm', payload: 'p', ...body }),
    signal,
  });
}

/** Values of the server histogram's `_count` series for POST /producer/messages, by status label. */
function countsByStatus(text: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(
    /^http_server_request_duration_seconds_count\{http_request_method="POST",http_route="\/producer\/messages",http_response_status_code="([^"]+)"\} (\d+)$/gm,
  )) {
    counts[match[1]!] = Number(match[2]);
  }
  return counts;
}

describe('producer /metrics', () => {
  it('keeps the status label bounded: codes outside the known set are counted as their class', async () => {
    const base = await start();
    // Every code the fault knob allows, once: before, 400 label values (6,817 series in one sweep).
    for (let code = 200; code <= 599; code += 1) {
      const response = await post(base, { responseCode: code });
      await response.body.dump();
      expect(response.statusCode).toBe(code);
    }
    const text = await (await fetch(`${base}/metrics`)).text();
    const counts = countsByStatus(text);
    const labels = Object.keys(counts);
    expect(labels.length).toBeLessThanOrEqual(40);
    for (const label of labels) expect(label).toMatch(/^([2-5]xx|[2-5]\d\d)$/);
    expect(counts['503']).toBe(1);
    expect(counts['404']).toBe(1);
    // The classes hold the rest, so nothing is lost: 400 requests in all.
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(400);
    expect(counts['5xx']).toBeGreaterThan(80);
    expect(await checkMetrics(text)).toEqual([]);
  });

  it('counts and logs a call whose client left during the delay as 499', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const base = await start(lines);
    // The caller's timeout, as the producer sees it: the connection closes mid-delay.
    await expect(post(base, { delay: 5000 }, AbortSignal.timeout(300))).rejects.toThrow();

    let text = '';
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      text = await (await fetch(`${base}/metrics`)).text();
      if (countsByStatus(text)['499'] === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(countsByStatus(text)).toEqual({ '499': 1 });
    // Only the scrape itself is in flight: the abandoned request was ended, not leaked.
    expect(text).toMatch(/^http_server_active_requests 1$/m);

    const accessLines = lines.filter((line) => line.msg === 'request completed');
    const abandoned = accessLines.filter(
      (line) => (line.res as { statusCode?: number } | undefined)?.statusCode === 499,
    );
    expect(abandoned).toHaveLength(1);
    expect(abandoned[0]).toMatchObject({
      abandoned: true,
      req: { method: 'POST', url: '/producer/messages' },
    });
    expect(abandoned[0]!.responseTime).toBeGreaterThan(200);
    expect(abandoned[0]!.responseTime).toBeLessThan(5000);
    expect(await checkMetrics(text)).toEqual([]);
  });
});
