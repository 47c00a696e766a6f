import { describe, expect, it } from 'vitest';
import { isTelemetryStarted, shutdownTelemetry } from '../src/shutdown.js';

describe('shutdownTelemetry without the register entry', () => {
  it('is a no-op that resolves', async () => {
    expect(isTelemetryStarted()).toBe(false);
    await expect(shutdownTelemetry()).resolves.toBeUndefined();
    await expect(shutdownTelemetry()).resolves.toBeUndefined();
  });
});
