import { definePackageTests } from '@s2s/test-support/vitest-preset';

export default definePackageTests({
  // Cold, the image builds take about 5 minutes on a 2-core machine (debootstrap, pnpm fetch
  // and four builds), warm about 1; the runs take seconds each.
  hookTimeout: 900_000,
  testTimeout: 120_000,
});
