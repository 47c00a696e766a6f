// Outgoing undici calls inside an unsampled trace get no client span, only the trace context;
// inside a sampled one they get the instrumentation's client span. In-process: a NodeSDK with an
// in-memory exporter, the real undici instrumentation, a node:http server recording what arrives.
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, TraceFlags, context, propagation, trace } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  AlwaysOnSampler,
  InMemorySpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  type Sampler,
} from '@opentelemetry/sdk-trace';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createUndiciInstrumentation } from '../src/undici-client-spans.js';

// One exporter per test: shutting the SDK down stops its exporter for good.
let exporter = new InMemorySpanExporter();
const received: IncomingHttpHeaders[] = [];
let server: Server;
let origin: string;
let sdk: NodeSDK | undefined;
let processor: SimpleSpanProcessor;

beforeAll(async () => {
  server = createServer((incoming, answer) => {
    received.push(incoming.headers);
    incoming.resume();
    incoming.on('end', () => answer.end('{}'));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.close();
  await once(server, 'close');
});

afterEach(async () => {
  received.length = 0;
  await sdk?.shutdown();
  sdk = undefined;
  // The SDK leaves its globals registered; the next test's SDK must be able to register its own.
  trace.disable();
  context.disable();
  propagation.disable();
});

function startSdk(parentBasedSampling: boolean, sampler: Sampler): void {
  exporter = new InMemorySpanExporter();
  processor = new SimpleSpanProcessor({ exporter });
  sdk = new NodeSDK({
    sampler,
    spanProcessors: [processor],
    instrumentations: [createUndiciInstrumentation({ parentBasedSampling })],
    // Traces only, as in start.ts: no metrics or logs pipelines from the environment.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
}

/** One call made while a parent span with the given trace flags is active. */
async function callUnder(flags: TraceFlags, headers: Record<string, string> = {}) {
  const parent = trace.wrapSpanContext({
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    traceFlags: flags,
    isRemote: false,
  });
  await context.with(trace.setSpan(context.active(), parent), async () => {
    const answer = await request(`${origin}/work`, { method: 'POST', body: '{}', headers });
    await answer.body.dump();
  });
  expect(received).toHaveLength(1);
  // The processor hands an ended span to the exporter asynchronously.
  await processor.forceFlush();
  return { headers: received[0]!, clientSpans: exporter.getFinishedSpans() };
}

describe('undici calls and the sampling decision (parent-based sampler)', () => {
  it('inside an unsampled trace: no client span, the parent context is propagated, flags 00', async () => {
    startSdk(true, new ParentBasedSampler({ root: new AlwaysOnSampler() }));
    const { headers, clientSpans } = await callUnder(TraceFlags.NONE);
    expect(clientSpans).toEqual([]);
    expect(headers.traceparent).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00');
  });

  it('inside an unsampled trace: a traceparent set by hand is replaced, not doubled', async () => {
    startSdk(true, new ParentBasedSampler({ root: new AlwaysOnSampler() }));
    const { headers } = await callUnder(TraceFlags.NONE, {
      traceparent: '00-11111111111111111111111111111111-2222222222222222-01',
    });
    expect(headers.traceparent).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00');
  });

  it('inside a sampled trace: a client span under the parent, its id in traceparent', async () => {
    startSdk(true, new ParentBasedSampler({ root: new AlwaysOnSampler() }));
    const { headers, clientSpans } = await callUnder(TraceFlags.SAMPLED);
    expect(clientSpans).toHaveLength(1);
    const [span] = clientSpans;
    expect(span!.kind).toBe(SpanKind.CLIENT);
    expect(span!.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(headers.traceparent).toBe(
      `00-4bf92f3577b34da6a3ce929d0e0e4736-${span!.spanContext().spanId}-01`,
    );
  });

  it('with a sampler that ignores the parent, an unsampled parent still gets a client span', async () => {
    // always_on samples every span whatever its parent decided: skipping would lose spans.
    startSdk(false, new AlwaysOnSampler());
    const { headers, clientSpans } = await callUnder(TraceFlags.NONE);
    expect(clientSpans).toHaveLength(1);
    expect(headers.traceparent).toBe(
      `00-4bf92f3577b34da6a3ce929d0e0e4736-${clientSpans[0]!.spanContext().spanId}-01`,
    );
  });
});
