// One trace across the real services (apps/caller, apps/producer), started the way their
// containers start them: `node --import @s2s/telemetry/register dist/server.js`. This package
// depends on both apps, so turbo builds them before these tests run.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startNodeService, type StartedNodeService } from '@s2s/test-support/node-service';
import {
  StatusCode,
  startOtlpReceiver,
  type OtlpReceiver,
  type ReceivedSpan,
} from '@s2s/test-support/otlp-receiver';
import { clientSpanOf, hasFullTrace, isAncestor, serverSpanOf } from '@s2s/test-support/traces';

/** An app's `dist/server.js`, found through the package its `./app` export belongs to. */
function serverOf(app: '@s2s/caller' | '@s2s/producer'): string {
  return join(dirname(createRequire(import.meta.url).resolve(`${app}/app`)), 'server.js');
}
const CALLER = serverOf('@s2s/caller');
const PRODUCER = serverOf('@s2s/producer');
/** `--import @s2s/telemetry/register` resolves from this package, which depends on it. */
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const PRODUCER_HOST = 'sample-producer.istio-apps.svc.clusterset.local';

interface Envelope {
  outcome: string;
  traceId: string | null;
  producerHeaders: Record<string, string> | null;
}

async function postMessage(
  origin: string,
  body: unknown,
): Promise<{ statusCode: number; envelope: Envelope }> {
  const answer = await request(`${origin}/caller/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { statusCode: answer.statusCode, envelope: (await answer.body.json()) as Envelope };
}

/** The runner's environment without its OTEL_* variables, so only the test's own apply. */
const withoutOtel = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !key.startsWith('OTEL_')),
);

describe('the real caller and producer', () => {
  let receiver: OtlpReceiver;
  let producer: StartedNodeService;
  let caller: StartedNodeService;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    const common = {
      ...withoutOtel,
      HOST: '127.0.0.1',
      PORT: '0',
      SHUTDOWN_DELAY_MS: '0',
      LOG_LEVEL: 'info',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    };
    const args = (entry: string) => ['--import', '@s2s/telemetry/register', entry];
    producer = await startNodeService({ args: args(PRODUCER), cwd: PACKAGE_DIR, env: common });
    const producerPort = new URL(producer.url).port;
    caller = await startNodeService({
      args: args(CALLER),
      cwd: PACKAGE_DIR,
      env: {
        ...common,
        PRODUCER_CONNECT_TO: `${PRODUCER_HOST}:8080:127.0.0.1:${producerPort}`,
        PRODUCER_TIMEOUT_MS: '500',
      },
    });
  });

  afterAll(async () => {
    await caller?.stop();
    await producer?.stop();
    await receiver?.close();
  });

  it('one POST /caller/messages is one trace: caller server → client → producer server span', async () => {
    const { statusCode, envelope } = await postMessage(caller.url, { payload: 'hi' });
    expect(statusCode).toBe(200);
    expect(envelope.outcome).toBe('ok');
    const traceId = envelope.traceId!;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    // Exactly one traceparent reached the producer, in the same trace.
    expect(envelope.producerHeaders?.traceparent).toMatch(
      new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`),
    );

    // service.name falls back to the app's package name when OTEL_SERVICE_NAME is unset.
    const spans = await receiver.waitFor(hasFullTrace(traceId));
    const trace = spans.filter((span) => span.traceId === traceId);
    const callerServer = serverSpanOf(trace, 'caller')!;
    const callerClient = clientSpanOf(trace, 'caller')!;
    const producerServer = serverSpanOf(trace, 'producer')!;
    expect(isAncestor(trace, callerServer, callerClient)).toBe(true);
    expect(isAncestor(trace, callerClient, producerServer)).toBe(true);
    expect(callerServer.attributes['http.route']).toBe('/caller/messages');
  });

  it('log lines of the request carry its trace id', async () => {
    const { envelope } = await postMessage(caller.url, { id: 'real-logs', payload: 'hi' });
    const traceId = envelope.traceId!;
    await receiver.waitFor(hasFullTrace(traceId));
    const callerLine = await caller.waitForLog((line) => line.trace_id === traceId);
    expect(callerLine.span_id).toMatch(/^[0-9a-f]{16}$/);
    const producerLine = await producer.waitForLog((line) => line.trace_id === traceId);
    expect(producerLine.span_id).toMatch(/^[0-9a-f]{16}$/);
  });

  it('a timed-out producer call is an error client span', async () => {
    const { statusCode, envelope } = await postMessage(caller.url, {
      payload: 'slow',
      delay: 2000,
    });
    expect(statusCode).toBe(504);
    expect(envelope.outcome).toBe('timeout');
    const traceId = envelope.traceId!;
    const inTrace = (all: readonly ReceivedSpan[]) =>
      all.filter((span) => span.traceId === traceId);
    const spans = await receiver.waitFor(
      (all) => clientSpanOf(inTrace(all), 'caller') !== undefined,
    );
    expect(clientSpanOf(inTrace(spans), 'caller')!.statusCode).toBe(StatusCode.ERROR);
  });

  it('probes and /metrics yield no spans', async () => {
    for (const path of ['/livez', '/readyz', '/metrics']) {
      for (const service of [caller, producer]) {
        const answer = await request(`${service.url}${path}`);
        await answer.body.dump();
        expect(answer.statusCode).toBe(200);
      }
    }
    const { envelope } = await postMessage(caller.url, { payload: 'after probes' });
    await receiver.waitFor(hasFullTrace(envelope.traceId!));
    const mentionsProbe = (span: ReceivedSpan): boolean =>
      [span.name, ...Object.values(span.attributes)].some(
        (value) => typeof value === 'string' && /\/(livez|readyz|metrics)\b/.test(value),
      );
    expect(receiver.spans.filter(mentionsProbe)).toEqual([]);
  });

  it('with telemetry running, a client’s baggage stops at the caller and its tracestate is bounded', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const send = async (headers: Record<string, string>) => {
      const answer = await request(`${caller.url}/caller/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', traceparent, ...headers },
        body: JSON.stringify({ payload: 'context' }),
      });
      expect(answer.statusCode).toBe(200);
      return ((await answer.body.json()) as Envelope).producerHeaders ?? {};
    };
    // ≈ 4 KB each: far over tracestate's 512 characters, both within Node's 16 KiB of headers.
    const huge = Array.from({ length: 100 }, (_, i) => `k${i}=${'v'.repeat(36)}`).join(',');
    const bounded = await send({ tracestate: 'vendor=abc', baggage: 'user=alice,tenant=acme' });
    expect(bounded['tracestate']).toBe('vendor=abc');
    expect(bounded).not.toHaveProperty('baggage');
    const oversized = await send({ tracestate: huge, baggage: huge });
    expect(oversized['traceparent']).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-/);
    // OpenTelemetry (core 2.x/3.x) truncates it to the W3C bound rather than dropping it.
    const tracestate = oversized['tracestate'] ?? '';
    expect(tracestate.length).toBeLessThanOrEqual(512);
    expect(tracestate.split(',').length).toBeLessThanOrEqual(32);
    expect(oversized).not.toHaveProperty('baggage');
  });
});
