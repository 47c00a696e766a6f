import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Process and socket tests on a shared 2-core machine: generous, never relied upon.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
