import { definePackageTests } from '@s2s/test-support/vitest-preset';

export default definePackageTests({
  // Two built services with the OpenTelemetry SDK loaded start in a few seconds on a busy machine.
  testTimeout: 60_000,
  hookTimeout: 60_000,
});
