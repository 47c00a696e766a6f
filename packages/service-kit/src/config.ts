// One validated configuration per service: the service declares a TypeBox schema, the process
// passes `process.env` once, and a bad value stops start-up with a message naming the variable.
import { envSchema } from 'env-schema';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Static, TObject, TProperties } from 'typebox';
import { Type } from './json-schema.js';

/** A configuration value that failed validation. `variable` names the environment variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly variable: string;

  constructor(variable: string, reason: string, value?: unknown) {
    const shown = value === undefined ? '' : ` (got ${JSON.stringify(value)})`;
    super(`invalid configuration: ${variable} ${reason}${shown}`);
    this.variable = variable;
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Variables both services read (docs/contract.md, "Configuration"). */
export const commonConfigProperties = {
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  // A second listener that answers only the probes and /metrics (probes.ts): its own accept
  // queue, so a burst of connections on PORT never delays the kubelet. Unset: probes on PORT only.
  PROBE_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  MAX_DELAY_MS: Type.Integer({ minimum: 0, maximum: 600_000, default: 30_000 }),
  // 5 s lets the endpoint removal reach every sidecar before the server stops accepting.
  SHUTDOWN_DELAY_MS: Type.Integer({ minimum: 0, maximum: 600_000, default: 5_000 }),
  LOG_LEVEL: Type.Union(
    LOG_LEVELS.map((level) => Type.Literal(level)),
    { default: 'info' },
  ),
  CLUSTER_NAME: Type.Optional(Type.String({ minLength: 1 })),
  CLUSTER_LOCATION: Type.Optional(Type.String({ minLength: 1 })),
  POD_NAME: Type.Optional(Type.String({ minLength: 1 })),
  POD_IP: Type.Optional(Type.String({ minLength: 1 })),
  APP_VERSION: Type.Optional(Type.String({ minLength: 1 })),
};

export const commonConfigSchema = Type.Object(commonConfigProperties);
export type CommonConfig = Static<typeof commonConfigSchema>;

export type Env = Readonly<Record<string, string | undefined>>;

interface AjvLikeError {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/**
 * Validates `env` against `schema` (types coerced from strings, defaults applied).
 * Empty strings count as unset, so `PORT=` means the default rather than an error.
 * @throws {ConfigError} naming the first offending variable.
 */
export function loadConfig<T extends TObject<TProperties>>(schema: T, env: Env): Static<T> {
  const data: Record<string, string> = {};
  for (const key of Object.keys(schema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') data[key] = value;
  }
  try {
    return envSchema<Static<T>>({ schema, data, env: false, dotenv: false });
  } catch (error) {
    const first = (error as { errors?: AjvLikeError[] }).errors?.[0];
    if (!first) throw error;
    const missing = first.params?.['missingProperty'];
    const variable =
      typeof missing === 'string' ? missing : (first.instancePath ?? '').replace(/^\//, '');
    throw new ConfigError(variable || 'environment', first.message ?? 'is invalid', data[variable]);
  }
}

/**
 * Loads the configuration for a process: on a ConfigError it prints one line naming the variable
 * to stderr and exits with status 1 (no stack trace: the message is the whole story).
 */
export function loadConfigOrExit<C>(service: string, load: () => C): C {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${service}: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/**
 * The validated configuration as `fastify.config`. Each service widens this interface with its
 * own schema's type (`interface ServiceConfig extends ProducerConfig {}` in a
 * `declare module '@s2s/service-kit/config'` block), so two services' types can meet in one
 * program (the caller's tests start a real producer) without conflicting declarations.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ServiceConfig {}

declare module 'fastify' {
  interface FastifyInstance {
    config: ServiceConfig;
  }
}

export const configPlugin = fp(
  // Typed loosely on purpose: when two services' types meet (see ServiceConfig), each one's
  // config object lacks the other's variables.
  async function config(fastify: FastifyInstance, options: { config: object }) {
    fastify.decorate('config', options.config as ServiceConfig);
  },
  { name: 'config', fastify: '5.x' },
);
