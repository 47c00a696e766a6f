import { definePackageTests } from '@s2s/test-support/vitest-preset';

export default definePackageTests({
  // Tests spawn Node processes with the SDK loaded: start-up takes a few seconds on a busy machine.
  testTimeout: 60_000,
  hookTimeout: 60_000,
});
