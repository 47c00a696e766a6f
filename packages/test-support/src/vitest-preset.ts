// The one vitest configuration every package starts from: where tests live, the reporters (the
// JSON report lands in <package>/.vitest/results.json, where .ci/summarize.mjs sums them) and
// bounds generous enough for real processes and sockets on a shared 2-core machine. A package
// passes only what differs, with its reason.
import { defineConfig, type ViteUserConfig } from 'vitest/config';

/** A package may set anything but where the reports go. */
type TestOptions = Omit<NonNullable<ViteUserConfig['test']>, 'reporters' | 'outputFile'>;

/** The JSON report of a package's last run, relative to the package. */
export const RESULTS_FILE = '.vitest/results.json';

export const presetTestOptions = {
  include: ['test/**/*.test.{ts,mjs}'],
  reporters: ['default', 'json'],
  outputFile: { json: RESULTS_FILE },
  testTimeout: 30_000,
  hookTimeout: 30_000,
} satisfies NonNullable<ViteUserConfig['test']>;

/** The preset with `test` options of the package's own laid over it. */
export function definePackageTests(test: TestOptions = {}): ViteUserConfig {
  return defineConfig({ test: { ...presetTestOptions, ...test } });
}
