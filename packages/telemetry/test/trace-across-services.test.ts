// One request through two ESM Fastify processes started with `--import @s2s/telemetry/register`
// must show up as ONE trace at a local OTLP/HTTP receiver.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import {
  StatusCode,
  startOtlpReceiver,
  type OtlpReceiver,
  type ReceivedSpan,
} from '@s2s/test-support/otlp-receiver';
import { startService, type ServiceProcess } from './support/service-process.js';
import {
  clientSpanOf,
  hasFullTrace,
  isAncestor,
  postJson,
  serverSpanOf,
  serverSpansOf,
  traceIdOf,
} from '@s2s/test-support/traces';

const CALLER = fileURLToPath(new URL('./fixtures/caller.mjs', import.meta.url));
const PRODUCER = fileURLToPath(new URL('./fixtures/producer.mjs', import.meta.url));

describe.each(['http/json', 'http/protobuf'])('exporting over OTLP %s', (protocol) => {
  let receiver: OtlpReceiver;
  let producer: ServiceProcess;
  let caller: ServiceProcess;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    const otel = {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      // Export within a fraction of a second rather than the 5 s default batch delay.
      OTEL_BSP_SCHEDULE_DELAY: '100',
    };
    producer = await startService({
      entry: PRODUCER,
      env: { ...otel, OTEL_SERVICE_NAME: 'producer' },
    });
    caller = await startService({
      entry: CALLER,
      env: {
        ...otel,
        OTEL_SERVICE_NAME: 'caller',
        PRODUCER_URL: producer.origin,
        PRODUCER_TIMEOUT_MS: '400',
      },
    });
  });

  afterAll(async () => {
    await caller?.stop();
    await producer?.stop();
    await receiver?.close();
  });

  it('one caller request yields one trace: caller server span → client span → producer server span', async () => {
    const answer = await postJson(`${caller.origin}/caller/messages`, {
      id: 'one-trace',
      payload: 'hi',
    });
    expect(answer.statusCode).toBe(200);
    const traceId = traceIdOf(answer.body.producerHeaders?.traceparent);

    const spans = await receiver.waitFor(hasFullTrace(traceId));
    const trace = spans.filter((span) => span.traceId === traceId);
    const callerServer = serverSpanOf(trace, 'caller')!;
    const callerClient = clientSpanOf(trace, 'caller')!;
    const producerServer = serverSpanOf(trace, 'producer')!;

    expect(callerServer.parentSpanId).toBe('');
    expect(isAncestor(trace, callerServer, callerClient)).toBe(true);
    expect(isAncestor(trace, callerClient, producerServer)).toBe(true);
    // One SERVER span per service and request, with the HTTP server span name and attributes.
    for (const [service, server] of [
      ['caller', callerServer],
      ['producer', producerServer],
    ] as const) {
      expect(serverSpansOf(trace, service)).toHaveLength(1);
      expect(server.scope).toBe('@s2s/telemetry');
      expect(server.name).toBe(`POST /${service}/messages`);
      expect(server.attributes['http.route']).toBe(`/${service}/messages`);
      expect(server.attributes['http.request.method']).toBe('POST');
      expect(server.attributes['http.response.status_code']).toBe(200);
      expect(server.attributes['url.scheme']).toBe('http');
    }
    expect(callerClient.name).toBe('POST');
    expect(callerClient.attributes['http.request.method']).toBe('POST');
    expect(callerClient.attributes['http.response.status_code']).toBe(200);
    expect(callerClient.attributes['url.full']).toBe(`${producer.origin}/producer/messages`);
    expect(callerClient.scope).toBe('@s2s/service-client');
    expect(receiver.contentTypes).toContain(
      protocol === 'http/json' ? 'application/json' : 'application/x-protobuf',
    );
  });

  it('carries the resource attributes (service.name from OTEL_SERVICE_NAME)', async () => {
    const spans = await receiver.waitFor((all) =>
      all.some((span) => span.serviceName === 'producer'),
    );
    const producerSpan = spans.find((span) => span.serviceName === 'producer')!;
    expect(producerSpan.resource['service.name']).toBe('producer');
    expect(producerSpan.resource['telemetry.sdk.language']).toBe('nodejs');
  });

  it('pino lines of a traced request carry the trace_id and span_id of its spans', async () => {
    const answer = await postJson(`${caller.origin}/caller/messages`, {
      id: 'log-correlation',
      payload: 'hi',
    });
    const traceId = traceIdOf(answer.body.producerHeaders?.traceparent);
    const spans = await receiver.waitFor(hasFullTrace(traceId));
    const spanIds = new Set(
      spans.filter((span) => span.traceId === traceId).map((span) => span.spanId),
    );

    const producerLine = await producer.waitForLog(
      (line) => line.msg === 'producing' && line.id === 'log-correlation',
    );
    expect(producerLine.trace_id).toBe(traceId);
    expect(spanIds.has(producerLine.span_id ?? '')).toBe(true);

    await caller.waitForLog(
      (line) => line.msg === 'request completed' && line.trace_id === traceId,
    );
    const callerLines = caller.logs.filter((line) => line.trace_id === traceId);
    expect(callerLines.map((line) => line.msg)).toContain('request completed');
    for (const line of callerLines) expect(spanIds.has(line.span_id ?? '')).toBe(true);
    // Every line of the request (same reqId) is correlated, none is written outside its span.
    const reqId = callerLines[0]?.reqId;
    expect(reqId).toBeDefined();
    for (const line of caller.logs.filter((entry) => entry.reqId === reqId)) {
      expect(line.trace_id).toBe(traceId);
    }
  });

  it('marks the client span of a timed-out producer call as an error', async () => {
    const answer = await postJson(`${caller.origin}/caller/messages`, {
      id: 'slow',
      payload: 'hi',
      delay: 2000,
    });
    expect(answer.statusCode).toBe(504);
    const timeoutLine = await caller.waitForLog((line) => line.msg === 'producer call failed');
    expect(timeoutLine.trace_id).toMatch(/^[0-9a-f]{32}$/);
    const traceId = timeoutLine.trace_id!;

    const spans = await receiver.waitFor(
      (all) =>
        clientSpanOf(
          all.filter((span) => span.traceId === traceId),
          'caller',
        ) !== undefined,
    );
    const clientSpan = clientSpanOf(
      spans.filter((span) => span.traceId === traceId),
      'caller',
    )!;
    expect(clientSpan.statusCode).toBe(StatusCode.ERROR);
  });

  it.each([
    [503, true],
    [404, false],
  ])(
    'a producer answer %i: the client span is an error, the server spans only for a 5xx',
    async (responseCode, serverError) => {
      const answer = await postJson(`${caller.origin}/caller/messages`, {
        id: `status-${responseCode}`,
        payload: 'hi',
        responseCode,
      });
      expect(answer.statusCode).toBe(502);
      const traceId = traceIdOf(answer.body.producerHeaders?.traceparent);
      const spans = await receiver.waitFor(hasFullTrace(traceId));
      const trace = spans.filter((span) => span.traceId === traceId);
      const client = clientSpanOf(trace, 'caller')!;
      expect(client.statusCode).toBe(StatusCode.ERROR);
      expect(client.attributes['http.response.status_code']).toBe(responseCode);
      expect(client.attributes['error.type']).toBe(String(responseCode));
      const producerServer = serverSpanOf(trace, 'producer')!;
      expect(producerServer.attributes['http.response.status_code']).toBe(responseCode);
      expect(producerServer.statusCode === StatusCode.ERROR).toBe(serverError);
      // The caller answered 502 (a 5xx) either way.
      expect(serverSpanOf(trace, 'caller')!.statusCode).toBe(StatusCode.ERROR);
    },
  );

  it('does not trace probes or /metrics', async () => {
    for (const path of ['/livez', '/readyz', '/metrics', '/readyz?full=1']) {
      for (const service of [caller, producer]) {
        const answer = await request(`${service.origin}${path}`);
        await answer.body.dump();
        expect(answer.statusCode).toBe(200);
      }
    }
    // A traced request after the probes: once its spans are in, the probes' would be too.
    const answer = await postJson(`${caller.origin}/caller/messages`, {
      id: 'after-probes',
      payload: 'hi',
    });
    const traceId = traceIdOf(answer.body.producerHeaders?.traceparent);
    await receiver.waitFor(hasFullTrace(traceId));

    const mentionsProbe = (span: ReceivedSpan): boolean =>
      [span.name, ...Object.values(span.attributes)].some(
        (value) => typeof value === 'string' && /\/(livez|readyz|metrics)\b/.test(value),
      );
    expect(receiver.spans.filter(mentionsProbe)).toEqual([]);
  });

  it("sends one traceparent, the client span's, when the app also set one by hand", async () => {
    const answer = await postJson(`${caller.origin}/caller/messages-manual-inject`, {
      id: 'manual-inject',
      payload: 'hi',
    });
    expect(answer.statusCode).toBe(200);
    // Two traceparent headers would arrive joined by ", " and fail to parse downstream.
    const traceId = traceIdOf(answer.body.producerHeaders?.traceparent);
    const spans = await receiver.waitFor(hasFullTrace(traceId));
    const trace = spans.filter((span) => span.traceId === traceId);
    const client = clientSpanOf(trace, 'caller')!;
    expect(answer.body.producerHeaders?.traceparent).toContain(client.spanId);
    expect(isAncestor(trace, client, serverSpanOf(trace, 'producer')!)).toBe(true);
  });
});
