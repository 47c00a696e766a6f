import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real sockets and timers: one file at a time keeps timing bounds honest on a busy 2-core machine.
    fileParallelism: false,
    testTimeout: 20_000,
    hookTimeout: 10_000,
  },
});
