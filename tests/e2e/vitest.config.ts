import { definePackageTests } from '@s2s/test-support/vitest-preset';

// One simulation at a time (the files share instance 1 and the machine's two cores), generous
// bounds: every test also bounds its own waits.
export default definePackageTests({
  include: ['test/**/*.e2e.test.ts'],
  globalSetup: ['test/global-setup.ts'],
  fileParallelism: false,
  testTimeout: 120_000,
  hookTimeout: 120_000,
  teardownTimeout: 30_000,
});
