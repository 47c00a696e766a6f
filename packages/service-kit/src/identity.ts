// Who this pod is, for the `metadata` of every answer. Environment first (the Downward API sets
// POD_NAME/POD_IP, the manifests CLUSTER_NAME/CLUSTER_LOCATION/APP_VERSION); what is unset comes
// from the GKE metadata server when it answers, else from this host. The metadata lookup runs in
// the background: `current()` never waits for it.
import { hostname, networkInterfaces } from 'node:os';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type } from './json-schema.js';

export interface Identity {
  service: string;
  clusterName: string;
  clusterLocation: string;
  podName: string;
  podIp: string;
  appVersion: string | null;
  hostName: string;
}

export interface IdentityEnv {
  CLUSTER_NAME?: string | undefined;
  CLUSTER_LOCATION?: string | undefined;
  POD_NAME?: string | undefined;
  POD_IP?: string | undefined;
  APP_VERSION?: string | undefined;
}

export interface IdentityOptions {
  /** Service name shown in the metadata, e.g. 'sample-producer'. */
  service: string;
  /** Identity variables (usually the validated config). */
  env: IdentityEnv;
  /**
   * Base URL of the metadata server, or `false` to never ask it.
   * **Default:** `'http://metadata.google.internal/computeMetadata/v1/'`
   */
  metadataUrl?: string | false;
  /** Deadline for each metadata request. **Default:** `500` */
  metadataTimeoutMs?: number;
}

export interface IdentityResolver {
  /** The best identity known now; never waits for the metadata server. */
  current(): Identity;
  /** Settles once the background metadata lookup is done (or was not needed). Never rejects. */
  readonly settled: Promise<void>;
}

export const GKE_METADATA_URL = 'http://metadata.google.internal/computeMetadata/v1/';

function localAddress(): string | null {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (!address.internal && address.family === 'IPv4') return address.address;
    }
  }
  return null;
}

async function fetchMetadata(base: string, path: string, timeoutMs: number): Promise<string> {
  const response = await fetch(new URL(path, base), {
    headers: { 'Metadata-Flavor': 'Google' },
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = (await response.text()).trim();
  // Anything that is not the metadata server itself (a captive portal, a proxy) lacks this header.
  if (!response.ok || response.headers.get('metadata-flavor') !== 'Google' || text === '') {
    throw new Error(`metadata ${path} answered ${response.status}`);
  }
  return text;
}

/** Creates a resolver and starts the metadata lookup when a cluster value is missing. */
export function createIdentityResolver(options: IdentityOptions): IdentityResolver {
  const host = hostname();
  const { env } = options;
  const identity: Identity = {
    service: options.service,
    clusterName: env.CLUSTER_NAME ?? host,
    clusterLocation: env.CLUSTER_LOCATION ?? host,
    podName: env.POD_NAME ?? host,
    podIp: env.POD_IP ?? localAddress() ?? host,
    appVersion: env.APP_VERSION ?? null,
    hostName: host,
  };
  const base = options.metadataUrl ?? GKE_METADATA_URL;
  const timeoutMs = options.metadataTimeoutMs ?? 500;
  const needsLookup = env.CLUSTER_NAME === undefined || env.CLUSTER_LOCATION === undefined;

  const lookup = async (): Promise<void> => {
    if (base === false || !needsLookup) return;
    const [name, location] = await Promise.allSettled([
      fetchMetadata(base, 'instance/attributes/cluster-name', timeoutMs),
      fetchMetadata(base, 'instance/attributes/cluster-location', timeoutMs),
    ]);
    if (env.CLUSTER_NAME === undefined && name.status === 'fulfilled') {
      identity.clusterName = name.value;
    }
    if (env.CLUSTER_LOCATION === undefined && location.status === 'fulfilled') {
      identity.clusterLocation = location.value;
    }
  };

  return {
    current: () => ({ ...identity }),
    settled: lookup().catch(() => undefined),
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    identity: IdentityResolver;
  }
}

/** `fastify.identity`: a resolver given by the caller (tests) or created from `options`. */
export const identityPlugin = fp(
  async function identity(
    fastify: FastifyInstance,
    options: IdentityOptions | { resolver: IdentityResolver },
  ) {
    const resolver = 'resolver' in options ? options.resolver : createIdentityResolver(options);
    fastify.decorate('identity', resolver);
  },
  { name: 'identity', fastify: '5.x' },
);

/** JSON schema of an Identity, for response schemas. */
export const identitySchema = Type.Object({
  service: Type.String(),
  clusterName: Type.String(),
  clusterLocation: Type.String(),
  podName: Type.String(),
  podIp: Type.String(),
  // A type list rather than anyOf: fast-json-stringify then needs no validator to pick a branch.
  appVersion: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
  hostName: Type.String(),
});
