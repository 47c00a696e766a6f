// The caller's configuration (docs/contract.md, "Configuration"): the common variables plus how to
// reach the producer. `process.env` is passed in by server.ts; tests pass their own objects.
import { DEFAULTS, parseConnectTo } from '@s2s/service-client';
import { ConfigError, commonConfigProperties, loadConfig, type Env } from '@s2s/service-kit/config';
import { Type } from '@s2s/service-kit/json-schema';
import type { Static } from 'typebox';

export const callerConfigSchema = Type.Object({
  ...commonConfigProperties,
  PRODUCER_URL: Type.String({
    minLength: 1,
    default: 'http://sample-producer.istio-apps.svc.clusterset.local:8080',
  }),
  /** curl --connect-to entries, comma-separated; empty: connect to the URL's host. */
  PRODUCER_CONNECT_TO: Type.String({ default: '' }),
  // 3 s stays below the mesh's 5 s VirtualService timeout, so the caller decides, not Envoy.
  PRODUCER_TIMEOUT_MS: Type.Integer({ minimum: 1, maximum: 600_000, default: 3_000 }),
  // Mirrors the DestinationRule's outlierDetection consecutive5xxErrors: 3.
  BREAKER_FAILURE_THRESHOLD: Type.Integer({ minimum: 1, maximum: 1_000, default: 3 }),
  // Mirrors outlierDetection baseEjectionTime: 15s; then one trial call (half-open).
  BREAKER_RESET_MS: Type.Integer({ minimum: 1, maximum: 3_600_000, default: 15_000 }),
  // Calls in flight to the producer; beyond it a call ends at once as `overloaded` (503 +
  // Retry-After). The client's pool gets as many sockets, so no admitted call waits for one.
  // Default: the client's own pool size.
  PRODUCER_MAX_IN_FLIGHT: Type.Integer({
    minimum: 1,
    maximum: 10_000,
    default: DEFAULTS.connections,
  }),
  // Calls one connection to the producer carries before it is closed and the next call opens a new
  // one; 0: no limit. Behind a ClusterSetIP (kube-proxy picks an endpoint per connection) it
  // spreads a steady caller over every producer endpoint; the mesh's sidecar balances each request
  // and needs none (the clusterset simulation sets 20: packages/clusterset-sim/README.md).
  PRODUCER_MAX_REQUESTS_PER_CONNECTION: Type.Integer({
    minimum: 0,
    maximum: 1_000_000,
    default: DEFAULTS.maxRequestsPerConnection,
  }),
  // Empty: the fault knobs are open to anyone (the `pnpm start` default); set, a call that uses
  // them must carry it in x-fault-injection-token (src/fault-token.ts).
  FAULT_INJECTION_TOKEN: Type.String({ default: '' }),
  // Empty: trace ids in the UI are plain text. Set (an http(s) URL containing {traceId}, e.g. a
  // Jaeger or Cloud Trace URL), the UI links each trace id to it.
  TRACE_URL_TEMPLATE: Type.String({ default: '', maxLength: 2048 }),
});

export type CallerConfig = Static<typeof callerConfigSchema>;

declare module '@s2s/service-kit/config' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface ServiceConfig extends CallerConfig {}
}

/** @throws {ConfigError} naming the offending variable. */
export function loadCallerConfig(env: Env): CallerConfig {
  const config = loadConfig(callerConfigSchema, env);
  let url: URL;
  try {
    url = new URL(config.PRODUCER_URL);
  } catch {
    throw new ConfigError('PRODUCER_URL', 'must be an absolute URL', config.PRODUCER_URL);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError('PRODUCER_URL', 'must be an http: or https: URL', config.PRODUCER_URL);
  }
  if (config.PRODUCER_CONNECT_TO !== '') {
    try {
      parseConnectTo(config.PRODUCER_CONNECT_TO);
    } catch (error) {
      throw new ConfigError(
        'PRODUCER_CONNECT_TO',
        `must be comma-separated HOST1:PORT1:HOST2:PORT2 entries: ${(error as Error).message}`,
        config.PRODUCER_CONNECT_TO,
      );
    }
  }
  checkTraceUrlTemplate(config.TRACE_URL_TEMPLATE);
  return config;
}

/** The placeholder TRACE_URL_TEMPLATE must contain; the UI puts the 32-hex trace id there. */
export const TRACE_ID_PLACEHOLDER = '{traceId}';

/** @throws {ConfigError} naming TRACE_URL_TEMPLATE when it is set but unusable. */
function checkTraceUrlTemplate(template: string): void {
  if (template === '') return;
  if (!template.includes(TRACE_ID_PLACEHOLDER)) {
    throw new ConfigError(
      'TRACE_URL_TEMPLATE',
      `must contain ${TRACE_ID_PLACEHOLDER} where the trace id goes`,
      template,
    );
  }
  let url: URL;
  try {
    url = new URL(template.replaceAll(TRACE_ID_PLACEHOLDER, '0'.repeat(32)));
  } catch {
    throw new ConfigError('TRACE_URL_TEMPLATE', 'must be an absolute http(s) URL', template);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError('TRACE_URL_TEMPLATE', 'must be an http: or https: URL', template);
  }
}
