// Helpers to read traces collected by the OTLP receiver and to talk to the test services.
import { request } from 'undici';
import { SpanKind, type ReceivedSpan } from './otlp-receiver.js';

export interface CallerAnswer {
  outcome: string;
  producerHeaders: Record<string, string> | null;
}

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ statusCode: number; body: CallerAnswer }> {
  const answer = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { statusCode: answer.statusCode, body: (await answer.body.json()) as CallerAnswer };
}

/** Trace id of the W3C traceparent `00-<trace id>-<span id>-<flags>`. */
export function traceIdOf(traceparent: string | undefined): string {
  const match = /^00-([0-9a-f]{32})-[0-9a-f]{16}-0[01]$/.exec(traceparent ?? '');
  if (!match?.[1]) throw new Error(`not a traceparent: ${traceparent}`);
  return match[1];
}

export function isAncestor(
  spans: readonly ReceivedSpan[],
  ancestor: ReceivedSpan,
  descendant: ReceivedSpan,
): boolean {
  const byId = new Map(spans.map((span) => [span.spanId, span]));
  let current: ReceivedSpan | undefined = descendant;
  for (let hops = 0; current !== undefined && hops < 50; hops++) {
    if (current.parentSpanId === ancestor.spanId) return true;
    current = byId.get(current.parentSpanId);
  }
  return false;
}

export const clientSpanOf = (spans: readonly ReceivedSpan[], service: string) =>
  spans.find((span) => span.serviceName === service && span.kind === SpanKind.CLIENT);
/** A service's SERVER span (@s2s/telemetry's Fastify hooks make one per traced request). */
export const serverSpanOf = (spans: readonly ReceivedSpan[], service: string) =>
  spans.find((span) => span.serviceName === service && span.kind === SpanKind.SERVER);
/** Every SERVER span of a service in `spans`: one per request, never a second for the same one. */
export const serverSpansOf = (spans: readonly ReceivedSpan[], service: string) =>
  spans.filter((span) => span.serviceName === service && span.kind === SpanKind.SERVER);

/** All three hops of one caller → producer request have arrived. */
export function hasFullTrace(traceId: string) {
  return (spans: readonly ReceivedSpan[]): boolean => {
    const trace = spans.filter((span) => span.traceId === traceId);
    return (
      serverSpanOf(trace, 'caller') !== undefined &&
      clientSpanOf(trace, 'caller') !== undefined &&
      serverSpanOf(trace, 'producer') !== undefined
    );
  };
}
