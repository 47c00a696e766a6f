// The producer's configuration (docs/contract.md, "Configuration"): the common variables plus the
// fault-knob switch. `process.env` is passed in by server.ts; tests pass their own objects.
import { commonConfigProperties, loadConfig, type Env } from '@s2s/service-kit/config';
import { Type } from '@s2s/service-kit/json-schema';
import type { Static } from 'typebox';

export const producerConfigSchema = Type.Object({
  ...commonConfigProperties,
  FAULTS_ENABLED: Type.Union(
    [Type.Literal('true'), Type.Literal('false'), Type.Literal('1'), Type.Literal('0')],
    { default: 'true' },
  ),
});

export type ProducerConfig = Omit<Static<typeof producerConfigSchema>, 'FAULTS_ENABLED'> & {
  /** Whether `delay`/`responseCode` are honoured; when false, setting them is a 403. */
  FAULTS_ENABLED: boolean;
};

declare module '@s2s/service-kit/config' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface ServiceConfig extends ProducerConfig {}
}

/** @throws {ConfigError} naming the offending variable. */
export function loadProducerConfig(env: Env): ProducerConfig {
  const raw = loadConfig(producerConfigSchema, env);
  return { ...raw, FAULTS_ENABLED: raw.FAULTS_ENABLED === 'true' || raw.FAULTS_ENABLED === '1' };
}
