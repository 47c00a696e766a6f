// OTEL_PROPAGATORS, as the SDK reads it: default `tracecontext,baggage`; also `b3` and `b3multi`
// (what an Istio/Envoy mesh may forward); `none` registers nothing.
import type { TextMapPropagator } from '@opentelemetry/api';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';

// B3 is imported only when named: most processes never need its modules in memory.
type Factory = () => TextMapPropagator | Promise<TextMapPropagator>;
const FACTORIES: ReadonlyMap<string, Factory> = new Map<string, Factory>([
  ['tracecontext', () => new W3CTraceContextPropagator()],
  ['baggage', () => new W3CBaggagePropagator()],
  ['b3', async () => new (await import('@opentelemetry/propagator-b3')).B3Propagator()],
  [
    'b3multi',
    async () => {
      const { B3InjectEncoding, B3Propagator } = await import('@opentelemetry/propagator-b3');
      return new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER });
    },
  ],
]);

export async function propagatorFromNames(
  names: readonly string[],
  warnings: string[] = [],
): Promise<TextMapPropagator | null> {
  const wanted = names.length === 0 ? ['tracecontext', 'baggage'] : [...new Set(names)];
  if (wanted.includes('none')) return null;
  const propagators: TextMapPropagator[] = [];
  for (const name of wanted) {
    const create = FACTORIES.get(name);
    if (create === undefined)
      warnings.push(`OTEL_PROPAGATORS: unknown propagator "${name}", ignored`);
    else propagators.push(await create());
  }
  if (propagators.length === 0) return null;
  return propagators.length === 1 ? propagators[0]! : new CompositePropagator({ propagators });
}
