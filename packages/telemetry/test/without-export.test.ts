// What happens when spans must not leave the process: no OTLP endpoint, or the SDK disabled.
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type OtlpReceiver } from '@s2s/test-support/otlp-receiver';
import { startService, type ServiceProcess } from './support/service-process.js';
import { postJson, traceIdOf } from '@s2s/test-support/traces';

const CALLER = fileURLToPath(new URL('./fixtures/caller.mjs', import.meta.url));
const PRODUCER = fileURLToPath(new URL('./fixtures/producer.mjs', import.meta.url));

const started: ServiceProcess[] = [];
const receivers: OtlpReceiver[] = [];

afterEach(async () => {
  for (const service of started.splice(0)) await service.stop();
  for (const receiver of receivers.splice(0)) await receiver.close();
});

async function startPair(
  env: Record<string, string>,
): Promise<{ caller: ServiceProcess; producer: ServiceProcess }> {
  const producer = await startService({
    entry: PRODUCER,
    env: { ...env, OTEL_SERVICE_NAME: 'producer' },
  });
  started.push(producer);
  const caller = await startService({
    entry: CALLER,
    env: { ...env, OTEL_SERVICE_NAME: 'caller', PRODUCER_URL: producer.origin },
  });
  started.push(caller);
  return { caller, producer };
}

/** A receiver on the OTLP/HTTP default port (where an exporter without endpoint would send), if free. */
async function receiverOnDefaultPort(): Promise<OtlpReceiver | undefined> {
  try {
    const receiver = await startOtlpReceiver(4318);
    receivers.push(receiver);
    return receiver;
  } catch {
    // Port 4318 taken by something else on this machine: the "nothing sent there" check cannot
    // run; the propagation checks below still do.
    return undefined;
  }
}

describe('without an OTLP endpoint', () => {
  it('makes no span, passes an incoming traceparent on unchanged, correlates logs, exports nothing', async () => {
    const defaultPortReceiver = await receiverOnDefaultPort();
    const { caller, producer } = await startPair({});
    const incoming = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

    const answer = await postJson(
      `${caller.origin}/caller/messages`,
      { id: 'no-endpoint', payload: 'hi' },
      { traceparent: incoming },
    );
    expect(answer.statusCode).toBe(200);
    // The same trace id and the same parent: no span of the caller's sits in between.
    expect(answer.body.producerHeaders?.traceparent).toBe(incoming);
    const traceId = traceIdOf(incoming);

    const producerLine = await producer.waitForLog(
      (line) => line.msg === 'producing' && line.id === 'no-endpoint',
    );
    expect(producerLine.trace_id).toBe(traceId);
    const callerLine = await caller.waitForLog((line) => line.msg === 'request completed');
    expect(callerLine.trace_id).toBe(traceId);
    expect(callerLine.span_id).toBe('00f067aa0ba902b7');

    // Shutdown would flush any buffered span: after it, still nothing may have arrived.
    expect(await caller.stop()).toBe(0);
    expect(await producer.stop()).toBe(0);
    if (defaultPortReceiver !== undefined) expect(defaultPortReceiver.contentTypes).toEqual([]);
  });

  it('starts no trace of its own: a request without trace context goes on without one', async () => {
    const { caller, producer } = await startPair({});

    const answer = await postJson(`${caller.origin}/caller/messages`, {
      id: 'no-context',
      payload: 'hi',
    });
    expect(answer.statusCode).toBe(200);
    expect(answer.body.producerHeaders?.traceparent).toBeUndefined();
    const producerLine = await producer.waitForLog(
      (line) => line.msg === 'producing' && line.id === 'no-context',
    );
    expect(producerLine.trace_id).toBeUndefined();
  });
});

describe('with OTEL_SDK_DISABLED=true', () => {
  it('starts nothing: no spans, no traceparent, no trace ids in logs', async () => {
    const receiver = await startOtlpReceiver();
    receivers.push(receiver);
    const { caller, producer } = await startPair({
      OTEL_SDK_DISABLED: 'true',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });

    const answer = await postJson(`${caller.origin}/caller/messages`, {
      id: 'disabled',
      payload: 'hi',
    });
    expect(answer.statusCode).toBe(200);
    expect(answer.body.producerHeaders?.traceparent).toBeUndefined();
    const producerLine = await producer.waitForLog(
      (line) => line.msg === 'producing' && line.id === 'disabled',
    );
    expect(producerLine.trace_id).toBeUndefined();

    expect(await caller.stop()).toBe(0);
    expect(await producer.stop()).toBe(0);
    expect(receiver.contentTypes).toEqual([]);
  });
});

describe('shutdown', () => {
  it('flushes the spans still buffered when the server stops', async () => {
    const receiver = await startOtlpReceiver();
    receivers.push(receiver);
    // A batch delay far beyond the test: only shutdownTelemetry() can get the spans out.
    const { caller, producer } = await startPair({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '600000',
    });

    const answer = await postJson(`${caller.origin}/caller/messages`, {
      id: 'flush',
      payload: 'hi',
    });
    const traceId = traceIdOf(answer.body.producerHeaders?.traceparent);
    expect(receiver.spans).toEqual([]);

    expect(await caller.stop()).toBe(0);
    expect(await producer.stop()).toBe(0);
    const services = new Set(
      receiver.spans.filter((span) => span.traceId === traceId).map((span) => span.serviceName),
    );
    expect([...services].sort()).toEqual(['caller', 'producer']);
  });
});
