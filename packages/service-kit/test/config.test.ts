import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import { ConfigError, commonConfigProperties, loadConfig } from '../src/config.js';

const schema = Type.Object({
  ...commonConfigProperties,
  PRODUCER_TIMEOUT_MS: Type.Integer({ minimum: 1, default: 3000 }),
  FLAG: Type.Union([Type.Literal('true'), Type.Literal('false')], { default: 'true' }),
});

describe('loadConfig', () => {
  it('applies the contract defaults when nothing is set', () => {
    const config = loadConfig(schema, {});
    expect(config).toMatchObject({
      PORT: 8080,
      HOST: '0.0.0.0',
      MAX_DELAY_MS: 30000,
      SHUTDOWN_DELAY_MS: 5000,
      LOG_LEVEL: 'info',
      PRODUCER_TIMEOUT_MS: 3000,
    });
    expect(config.CLUSTER_NAME).toBeUndefined();
  });

  it('coerces numeric strings and treats empty strings as unset', () => {
    const config = loadConfig(schema, { PORT: '9090', PRODUCER_TIMEOUT_MS: '', FLAG: 'false' });
    expect(config.PORT).toBe(9090);
    expect(config.PRODUCER_TIMEOUT_MS).toBe(3000);
    expect(config.FLAG).toBe('false');
  });

  it('rejects a non-numeric value with an error naming the variable and the value', () => {
    let caught: unknown;
    try {
      loadConfig(schema, { PRODUCER_TIMEOUT_MS: 'abc' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).variable).toBe('PRODUCER_TIMEOUT_MS');
    expect((caught as ConfigError).message).toMatch(/PRODUCER_TIMEOUT_MS.*"abc"/);
  });

  it('rejects out-of-range and unknown enum values naming the variable', () => {
    expect(() => loadConfig(schema, { PORT: '70000' })).toThrow(/PORT/);
    expect(() => loadConfig(schema, { LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
  });

  it('reads only the variables of the schema', () => {
    const config = loadConfig(schema, { UNRELATED: 'x', PORT: '1' }) as Record<string, unknown>;
    expect(config['UNRELATED']).toBeUndefined();
  });
});
