import { definePackageTests } from '@s2s/test-support/vitest-preset';

export default definePackageTests({
  // kubectl kustomize, pnpm build/deploy (two apps, each step bounded at 240 s) and app
  // start-ups are real processes on a busy 2-core box.
  testTimeout: 120_000,
  hookTimeout: 600_000,
  // One file at a time: the runtime-stage test runs pnpm, which must not race other work.
  fileParallelism: false,
});
