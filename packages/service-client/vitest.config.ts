import { definePackageTests } from '@s2s/test-support/vitest-preset';

export default definePackageTests({
  // Real sockets and timers: one file at a time keeps timing bounds honest on a busy 2-core machine.
  fileParallelism: false,
});
