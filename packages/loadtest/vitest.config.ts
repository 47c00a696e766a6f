import { definePackageTests } from '@s2s/test-support/vitest-preset';

export default definePackageTests({
  // Real sockets and timed load runs: one file at a time keeps the timing bounds honest on a
  // busy 2-core machine.
  fileParallelism: false,
});
