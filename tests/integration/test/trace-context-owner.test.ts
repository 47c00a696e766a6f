// One owner for trace context: @s2s/service-client is the only code that writes trace headers
// into the producer call (the caller's route only reads the incoming context; @s2s/telemetry
// only extracts it and makes spans). Whatever telemetry does, the producer receives exactly one
// traceparent, in the incoming trace, whose parent is the caller's client span when one is
// recorded and the incoming parent itself when none is.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startNodeService, type StartedNodeService } from '@s2s/test-support/node-service';
import { startOtlpReceiver, type OtlpReceiver } from '@s2s/test-support/otlp-receiver';
import { clientSpanOf, serverSpanOf } from '@s2s/test-support/traces';

function serverOf(app: '@s2s/caller' | '@s2s/producer'): string {
  return join(dirname(createRequire(import.meta.url).resolve(`${app}/app`)), 'server.js');
}
const CALLER = serverOf('@s2s/caller');
const PRODUCER = serverOf('@s2s/producer');
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const PRODUCER_HOST = 'sample-producer.istio-apps.svc.clusterset.local';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const INCOMING_SPAN_ID = '00f067aa0ba902b7';
const INCOMING = `00-${TRACE_ID}-${INCOMING_SPAN_ID}-01`;

const withoutOtel = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !key.startsWith('OTEL_')),
);
const common = {
  ...withoutOtel,
  HOST: '127.0.0.1',
  PORT: '0',
  SHUTDOWN_DELAY_MS: '0',
  LOG_LEVEL: 'info',
};

const started: StartedNodeService[] = [];
let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  for (const service of started.splice(0)) await service.stop();
  await receiver?.close();
  receiver = undefined;
});

/** The producer (no telemetry: it only echoes what arrived) and the caller in front of it. */
async function startCaller(
  register: boolean,
  env: Record<string, string>,
): Promise<StartedNodeService> {
  const producer = await startNodeService({ args: [PRODUCER], cwd: PACKAGE_DIR, env: common });
  started.push(producer);
  const caller = await startNodeService({
    args: [...(register ? ['--import', '@s2s/telemetry/register'] : []), CALLER],
    cwd: PACKAGE_DIR,
    env: {
      ...common,
      ...env,
      PRODUCER_CONNECT_TO: `${PRODUCER_HOST}:8080:127.0.0.1:${new URL(producer.url).port}`,
    },
  });
  started.push(caller);
  return caller;
}

interface Envelope {
  traceId: string | null;
  producerHeaders: Record<string, string> | null;
}

async function callWithTraceparent(caller: StartedNodeService): Promise<Envelope> {
  const answer = await request(`${caller.url}/caller/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: INCOMING },
    body: JSON.stringify({ payload: 'owner' }),
  });
  expect(answer.statusCode).toBe(200);
  return (await answer.body.json()) as Envelope;
}

/** Exactly one well-formed traceparent (two would arrive joined by ", "), in the incoming trace. */
function parentOf(envelope: Envelope): string {
  const traceparent = envelope.producerHeaders?.['traceparent'] ?? '';
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(traceparent);
  expect(match, `one traceparent, got "${traceparent}"`).not.toBeNull();
  expect(match![1]).toBe(TRACE_ID);
  expect(envelope.traceId).toBe(TRACE_ID);
  return match![2]!;
}

describe('the producer receives exactly one traceparent with the right parent', () => {
  it.each([
    ['telemetry not loaded', false, {}],
    ['OTEL_SDK_DISABLED=true', true, { OTEL_SDK_DISABLED: 'true' }],
    ['telemetry loaded, no exporter', true, {}],
  ])('%s: the incoming parent, unchanged (no span recorded)', async (_name, register, env) => {
    const caller = await startCaller(register, env);
    expect(parentOf(await callWithTraceparent(caller))).toBe(INCOMING_SPAN_ID);
  });

  it('telemetry exporting: the caller’s client span, child of its server span under the incoming parent', async () => {
    receiver = await startOtlpReceiver();
    const caller = await startCaller(true, {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    const parent = parentOf(await callWithTraceparent(caller));
    const spans = await receiver.waitFor(
      (all) =>
        clientSpanOf(
          all.filter((span) => span.traceId === TRACE_ID),
          'caller',
        ) !== undefined,
    );
    const trace = spans.filter((span) => span.traceId === TRACE_ID);
    const client = clientSpanOf(trace, 'caller')!;
    const server = serverSpanOf(trace, 'caller')!;
    expect(parent).toBe(client.spanId);
    expect(client.parentSpanId).toBe(server.spanId);
    expect(server.parentSpanId).toBe(INCOMING_SPAN_ID);
  });
});
