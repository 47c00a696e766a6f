import { definePackageTests } from '@s2s/test-support/vitest-preset';

export default definePackageTests({
  // The image builds (beforeAll), cold: 12.5 min measured on a 2-core machine at load average
  // 10 (debootstrap 4 min, pnpm fetch and four builds), warm under 2 min. Bounded, so a stuck
  // build fails the run instead of eating CI's whole budget.
  hookTimeout: 1_200_000,
  testTimeout: 120_000,
});
