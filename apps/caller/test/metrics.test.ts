// The caller's /metrics as a dashboard reads it, over a real socket: refused calls counted but out
// of the latency histogram, the upstream status on the client series (bounded), in-flight gauges,
// OpenTelemetry label names, the UI's files as one route, and `promtool check metrics` passing.
import type { AddressInfo } from 'node:net';
import { checkMetrics } from '@s2s/test-support/promtool';
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

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

async function send(base: string, body: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${base}/caller/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ payload: 'p', ...body }),
  });
  return ((await response.json()) as { outcome: string }).outcome;
}

async function scrape(base: string): Promise<string> {
  const response = await fetch(`${base}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

/** Value of one series line, or undefined when the series is absent. */
function valueOf(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('caller /metrics', () => {
  it('counts refused calls without putting them in the latency histogram, and labels calls with the upstream status', async () => {
    producer = await startProducer();
    caller = await buildTestCaller(producer.port, {
      BREAKER_FAILURE_THRESHOLD: '3',
      BREAKER_RESET_MS: '60000',
    });
    const base = await listen(caller);

    expect(await send(base, { responseCode: 200 })).toBe('ok');
    expect(await send(base, { responseCode: 404 })).toBe('upstream_error');
    expect(await send(base, { responseCode: 418 })).toBe('upstream_error');
    for (let i = 0; i < 3; i++)
      expect(await send(base, { responseCode: 500 })).toBe('upstream_error');
    // The breaker is open now: these never reach the producer.
    for (let i = 0; i < 4; i++) expect(await send(base, {})).toBe('circuit_open');

    const text = await scrape(base);
    const u = 'upstream="sample-producer.istio-apps.svc.clusterset.local"';
    const counter = (outcome: string, code: string) =>
      valueOf(
        text,
        `http_client_requests_total{${u},outcome="${outcome}",http_response_status_code="${code}"}`,
      );
    expect(counter('circuit_open', 'none')).toBe(4);
    expect(counter('ok', '200')).toBe(1);
    expect(counter('upstream_error', '404')).toBe(1);
    // 418 is not one of the codes kept by name: its class, so the fault knob cannot grow the series.
    expect(counter('upstream_error', '4xx')).toBe(1);
    expect(counter('upstream_error', '500')).toBe(3);

    // The histogram holds only calls that were sent.
    expect(text).not.toMatch(
      /http_client_request_duration_seconds_\w+\{[^}]*outcome="circuit_open"/,
    );
    const histogramCount = (outcome: string, statusClass: string) =>
      valueOf(
        text,
        `http_client_request_duration_seconds_count{${u},outcome="${outcome}",status_class="${statusClass}"}`,
      );
    expect(histogramCount('ok', '2xx')).toBe(1);
    expect(histogramCount('upstream_error', '4xx')).toBe(2);
    expect(histogramCount('upstream_error', '5xx')).toBe(3);

    expect(await checkMetrics(text)).toEqual([]);
  });

  it('shows calls in flight on the server and client gauges, back to 0 when they end', async () => {
    producer = await startProducer();
    caller = await buildTestCaller(producer.port);
    const base = await listen(caller);
    const u = 'upstream="sample-producer.istio-apps.svc.clusterset.local"';

    const slow = Promise.all([send(base, { delay: 1500 }), send(base, { delay: 1500 })]);
    // Wait until both calls are with the producer (they are counted there on arrival).
    const deadline = Date.now() + 5000;
    while (producer.received() < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const during = await scrape(base);
    expect(valueOf(during, `http_client_active_requests{${u}}`)).toBe(2);
    // The two calls and this scrape.
    expect(valueOf(during, 'http_server_active_requests')).toBe(3);

    expect(await slow).toEqual(['ok', 'ok']);
    const after = await scrape(base);
    expect(valueOf(after, `http_client_active_requests{${u}}`)).toBe(0);
    expect(valueOf(after, 'http_server_active_requests')).toBe(1);
    expect(await checkMetrics(after)).toEqual([]);
  });

  it('counts an open event stream as in flight until the browser leaves, then as a 499', async () => {
    producer = await startProducer();
    caller = await buildTestCaller(producer.port);
    const base = await listen(caller);
    const leave = new AbortController();
    const stream = await fetch(`${base}/caller/events`, { signal: leave.signal });
    expect(stream.status).toBe(200);
    expect(valueOf(await scrape(base), 'http_server_active_requests')).toBe(2);
    leave.abort();
    let text = '';
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      text = await scrape(base);
      if (valueOf(text, 'http_server_active_requests') === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(valueOf(text, 'http_server_active_requests')).toBe(1);
    expect(
      valueOf(
        text,
        'http_server_request_duration_seconds_count{http_request_method="GET",http_route="/caller/events",http_response_status_code="499"}',
      ),
    ).toBe(1);
  });

  it('labels requests with OpenTelemetry attribute names and counts every UI file as one route', async () => {
    producer = await startProducer();
    caller = await buildTestCaller(producer.port);
    const base = await listen(caller);
    for (const path of ['/', '/app.js', '/render.js', '/styles.css', '/favicon.svg']) {
      expect((await fetch(`${base}${path}`)).status, path).toBe(200);
    }
    expect((await fetch(`${base}/no/such/file.js`)).status).toBe(404);

    const text = await scrape(base);
    expect(
      valueOf(
        text,
        'http_server_request_duration_seconds_count{http_request_method="GET",http_route="/*",http_response_status_code="200"}',
      ),
    ).toBe(5);
    expect(text).not.toMatch(/http_route="\/(app|render)\.js"/);
    expect(text).toMatch(/http_route="unmatched",http_response_status_code="404"/);
    expect(text).not.toContain('/no/such/file.js');
    expect(await checkMetrics(text)).toEqual([]);
  });
});
