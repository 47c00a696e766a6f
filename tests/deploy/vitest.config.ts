import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // kubectl kustomize, pnpm deploy and app start-ups are real processes on a busy 2-core box.
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // One file at a time: the runtime-stage test runs pnpm, which must not race other work.
    fileParallelism: false,
  },
});
