// The plugins every s2s service registers before its own routes, in this order: config,
// problem+json errors (so later plugins' errors are answered as problems), response rules (no
// body on 204/205/304, Retry-After on every 503), probes, metrics (so every route is measured),
// admission control (sheds new requests under pressure; probes and /metrics exempt), identity.
import type { FastifyInstance } from 'fastify';
import { admissionPlugin, type AdmissionOptions } from './admission.js';
import { configPlugin } from './config.js';
import { identityPlugin, type IdentityEnv, type IdentityResolver } from './identity.js';
import { metricsPlugin } from './metrics.js';
import { probesPlugin } from './probes.js';
import { problemDetailsPlugin } from './problem.js';
import { responseRulesPlugin } from './response-rules.js';

export interface ServiceFoundationOptions {
  /** Service name shown in the identity metadata, e.g. `'sample-caller'`. */
  service: string;
  /** The service's validated config (`fastify.config`); its identity variables feed `fastify.identity`. */
  config: IdentityEnv & { PROBE_PORT?: number | undefined; HOST?: string | undefined } & object;
  /** Identity to report. **Default:** resolved from the config's identity variables. */
  identity?: IdentityResolver | undefined;
  /** Base URL of the GKE metadata server, or `false` to never ask it. **Default:** the GKE one. */
  metadataUrl?: string | false | undefined;
  /** Admission-control thresholds. **Default:** `admissionPlugin`'s. */
  admission?: AdmissionOptions | undefined;
}

export async function registerServiceFoundation(
  fastify: FastifyInstance,
  options: ServiceFoundationOptions,
): Promise<void> {
  await fastify.register(configPlugin, { config: options.config });
  await fastify.register(problemDetailsPlugin);
  // No body on 204/205/304, Retry-After on every 503, whoever answers.
  await fastify.register(responseRulesPlugin);
  // Readiness checks nothing downstream: an outage of an upstream must not take this service out.
  const { PROBE_PORT, HOST } = options.config;
  await fastify.register(probesPlugin, {
    listen: PROBE_PORT === undefined ? undefined : { port: PROBE_PORT, host: HOST ?? '0.0.0.0' },
  });
  await fastify.register(metricsPlugin, {
    service: options.service,
    version: options.config.APP_VERSION || 'unknown',
  });
  // After metrics (its gauge joins the registry), before every route it guards.
  await fastify.register(admissionPlugin, options.admission ?? {});
  await fastify.register(
    identityPlugin,
    options.identity
      ? { resolver: options.identity }
      : {
          service: options.service,
          env: options.config,
          ...(options.metadataUrl === undefined ? {} : { metadataUrl: options.metadataUrl }),
        },
  );
}
