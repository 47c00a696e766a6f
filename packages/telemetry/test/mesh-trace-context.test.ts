// The sidecar in front of each app starts or continues a trace and passes its context in the
// request headers; the app's spans join that trace only if the SDK extracts those headers and
// forwards them on its outgoing call (docs/observability.md, "What the mesh adds").
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startOtlpReceiver, type OtlpReceiver } from '@s2s/test-support/otlp-receiver';
import { clientSpanOf } from '@s2s/test-support/traces';
import { startService, type ServiceProcess } from './support/service-process.js';
import type { CallerAnswer } from '@s2s/test-support/traces';

const CALLER = fileURLToPath(new URL('./fixtures/caller.mjs', import.meta.url));
const PRODUCER = fileURLToPath(new URL('./fixtures/producer.mjs', import.meta.url));

const started: ServiceProcess[] = [];
const receivers: OtlpReceiver[] = [];
afterEach(async () => {
  for (const service of started.splice(0)) await service.stop();
  for (const receiver of receivers.splice(0)) await receiver.close();
});

async function exportingEnv(): Promise<Record<string, string>> {
  const receiver = await startOtlpReceiver();
  receivers.push(receiver);
  return { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '100' };
}

async function startPair(env: Record<string, string>): Promise<ServiceProcess> {
  const producer = await startService({ entry: PRODUCER, env });
  started.push(producer);
  const caller = await startService({
    entry: CALLER,
    env: { ...env, PRODUCER_URL: producer.origin },
  });
  started.push(caller);
  return caller;
}

async function callWithHeaders(
  caller: ServiceProcess,
  headers: Record<string, string>,
): Promise<CallerAnswer> {
  const answer = await request(`${caller.origin}/caller/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ id: 'mesh', payload: 'hi' }),
  });
  expect(answer.statusCode).toBe(200);
  return (await answer.body.json()) as CallerAnswer;
}

const MESH_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const MESH_SPAN_ID = '00f067aa0ba902b7';

describe('trace context set by the mesh', () => {
  it("continues the sidecar's W3C traceparent and forwards it to the producer", async () => {
    const caller = await startPair(await exportingEnv());
    const answer = await callWithHeaders(caller, {
      traceparent: `00-${MESH_TRACE_ID}-${MESH_SPAN_ID}-01`,
    });

    const forwarded = answer.producerHeaders?.traceparent ?? '';
    expect(forwarded).toMatch(new RegExp(`^00-${MESH_TRACE_ID}-[0-9a-f]{16}-01$`));
    // The app's client span sits between: a new span id, not the sidecar's.
    expect(forwarded).not.toContain(MESH_SPAN_ID);
    const line = await caller.waitForLog((entry) => entry.msg === 'request completed');
    expect(line.trace_id).toBe(MESH_TRACE_ID);
  });

  it("without an exporter passes the sidecar's traceparent and tracestate on unchanged (no span of its own)", async () => {
    const caller = await startPair({});
    const answer = await callWithHeaders(caller, {
      traceparent: `00-${MESH_TRACE_ID}-${MESH_SPAN_ID}-01`,
      tracestate: 'mesh=1,other=two',
    });
    expect(answer.producerHeaders?.traceparent).toBe(`00-${MESH_TRACE_ID}-${MESH_SPAN_ID}-01`);
    expect(answer.producerHeaders?.tracestate).toBe('mesh=1,other=two');
    const line = await caller.waitForLog((entry) => entry.msg === 'request completed');
    expect(line.trace_id).toBe(MESH_TRACE_ID);
    expect(line.span_id).toBe(MESH_SPAN_ID);
  });

  it('follows an unsampled decision made upstream (parentbased sampler)', async () => {
    const caller = await startPair(await exportingEnv());
    const answer = await callWithHeaders(caller, {
      traceparent: `00-${MESH_TRACE_ID}-${MESH_SPAN_ID}-00`,
    });
    expect(answer.producerHeaders?.traceparent).toMatch(
      new RegExp(`^00-${MESH_TRACE_ID}-[0-9a-f]{16}-00$`),
    );
  });

  it('OTEL_TRACES_SAMPLER=always_on records even under an unsampled parent, sending its client span as sampled', async () => {
    const env = await exportingEnv();
    const receiver = receivers.at(-1)!;
    const caller = await startPair({ ...env, OTEL_TRACES_SAMPLER: 'always_on' });
    const answer = await callWithHeaders(caller, {
      traceparent: `00-${MESH_TRACE_ID}-${MESH_SPAN_ID}-00`,
    });
    const match = new RegExp(`^00-${MESH_TRACE_ID}-([0-9a-f]{16})-01$`).exec(
      answer.producerHeaders?.traceparent ?? '',
    );
    expect(match).not.toBeNull();
    const spans = await receiver.waitFor((all) => all.some((span) => span.spanId === match![1]));
    const client = spans.find((span) => span.spanId === match![1])!;
    expect(client.traceId).toBe(MESH_TRACE_ID);
    expect(clientSpanOf([client], client.serviceName)).toBe(client);
  });

  it('a ratio of 0 records nothing yet still continues the trace (flags 00)', async () => {
    const env = await exportingEnv();
    const receiver = receivers.at(-1)!;
    const caller = await startPair({
      ...env,
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0',
    });
    const answer = await request(`${caller.origin}/caller/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'ratio-0', payload: 'hi' }),
    });
    expect(answer.statusCode).toBe(200);
    const body = (await answer.body.json()) as CallerAnswer;
    expect(body.producerHeaders?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    // Stopping flushes whatever was buffered: nothing may arrive.
    for (const service of started.splice(0)) expect(await service.stop()).toBe(0);
    expect(receiver.spans).toEqual([]);
  });

  it('with OTEL_PROPAGATORS including b3multi, joins and forwards a Zipkin-style x-b3 trace', async () => {
    const caller = await startPair({ OTEL_PROPAGATORS: 'tracecontext,baggage,b3multi' });
    const answer = await callWithHeaders(caller, {
      'x-b3-traceid': MESH_TRACE_ID,
      'x-b3-spanid': MESH_SPAN_ID,
      'x-b3-sampled': '1',
    });

    expect(answer.producerHeaders?.['x-b3-traceid']).toBe(MESH_TRACE_ID);
    expect(answer.producerHeaders?.traceparent).toMatch(new RegExp(`^00-${MESH_TRACE_ID}-`));
  });
});
