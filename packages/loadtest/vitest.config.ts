import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real sockets and timed load runs: one file at a time keeps the timing bounds honest on a
    // busy 2-core machine.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 15_000,
  },
});
