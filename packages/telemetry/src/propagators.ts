// OTEL_PROPAGATORS, as the SDK reads it: default `tracecontext,baggage`; also `b3` and `b3multi`
// (what an Istio/Envoy mesh may forward); `none` registers nothing.
import type { TextMapPropagator } from '@opentelemetry/api';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';

const FACTORIES: ReadonlyMap<string, () => TextMapPropagator> = new Map([
  ['tracecontext', () => new W3CTraceContextPropagator()],
  ['baggage', () => new W3CBaggagePropagator()],
  ['b3', () => new B3Propagator()],
  ['b3multi', () => new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER })],
]);

export function propagatorFromNames(
  names: readonly string[],
  warnings: string[] = [],
): TextMapPropagator | null {
  const wanted = names.length === 0 ? ['tracecontext', 'baggage'] : [...new Set(names)];
  if (wanted.includes('none')) return null;
  const propagators: TextMapPropagator[] = [];
  for (const name of wanted) {
    const create = FACTORIES.get(name);
    if (create === undefined)
      warnings.push(`OTEL_PROPAGATORS: unknown propagator "${name}", ignored`);
    else propagators.push(create());
  }
  if (propagators.length === 0) return null;
  return propagators.length === 1 ? propagators[0]! : new CompositePropagator({ propagators });
}
