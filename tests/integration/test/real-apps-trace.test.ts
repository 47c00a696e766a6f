// The same one-trace checks against the real services (apps/caller, apps/producer), started the
// way their containers start them: `node --import @s2s/telemetry/register dist/server.js`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import {
  StatusCode,
  startOtlpReceiver,
  type OtlpReceiver,
  type ReceivedSpan,
} from './support/otlp-receiver.js';
import { freePort, startService, type ServiceProcess } from './support/service-process.js';
import { clientSpanOf, hasFullTrace, isAncestor, serverSpanOf } from './support/traces.js';

const CALLER = fileURLToPath(new URL('../../../apps/caller/dist/server.js', import.meta.url));
const PRODUCER = fileURLToPath(new URL('../../../apps/producer/dist/server.js', import.meta.url));
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

// The apps are built by their own `build` tasks; `pnpm typecheck` (turbo, `^build` of
// @s2s/e2e and @s2s/bench) builds them before `pnpm test` in CI. This package cannot depend on
// them to force the order (the apps depend on @s2s/telemetry), so a checkout where they were
// never built skips these checks instead of failing on a missing file.
const appsBuilt = existsSync(CALLER) && existsSync(PRODUCER);

describe.skipIf(!appsBuilt)('the real caller and producer', () => {
  let receiver: OtlpReceiver;
  let producer: ServiceProcess;
  let caller: ServiceProcess;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    const common = {
      HOST: '127.0.0.1',
      SHUTDOWN_DELAY_MS: '0',
      LOG_LEVEL: 'info',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    };
    const producerPort = await freePort();
    producer = await startService({
      entry: PRODUCER,
      port: producerPort,
      env: { ...common, PORT: String(producerPort) },
    });
    const callerPort = await freePort();
    caller = await startService({
      entry: CALLER,
      port: callerPort,
      env: {
        ...common,
        PORT: String(callerPort),
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
    const { statusCode, envelope } = await postMessage(caller.origin, { payload: 'hi' });
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
    const { envelope } = await postMessage(caller.origin, { id: 'real-logs', payload: 'hi' });
    const traceId = envelope.traceId!;
    await receiver.waitFor(hasFullTrace(traceId));
    const callerLine = await caller.waitForLog((line) => line.trace_id === traceId);
    expect(callerLine.span_id).toMatch(/^[0-9a-f]{16}$/);
    const producerLine = await producer.waitForLog((line) => line.trace_id === traceId);
    expect(producerLine.span_id).toMatch(/^[0-9a-f]{16}$/);
  });

  it('a timed-out producer call is an error client span', async () => {
    const { statusCode, envelope } = await postMessage(caller.origin, {
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
        const answer = await request(`${service.origin}${path}`);
        await answer.body.dump();
        expect(answer.statusCode).toBe(200);
      }
    }
    const { envelope } = await postMessage(caller.origin, { payload: 'after probes' });
    await receiver.waitFor(hasFullTrace(envelope.traceId!));
    const mentionsProbe = (span: ReceivedSpan): boolean =>
      [span.name, ...Object.values(span.attributes)].some(
        (value) => typeof value === 'string' && /\/(livez|readyz|metrics)\b/.test(value),
      );
    expect(receiver.spans.filter(mentionsProbe)).toEqual([]);
  });
});
