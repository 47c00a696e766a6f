import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Cold, the image builds take about 5 minutes on a 2-core machine (debootstrap, pnpm fetch
    // and four builds), warm about 1; the runs take seconds each.
    hookTimeout: 900_000,
    testTimeout: 120_000,
  },
});
