// Debian's `promtool` (package `prometheus`, installed in CI by .ci/system-deps.sh from
// .ci/apt-packages.txt): lint a scrape, check and unit-test rule files. A missing binary is an
// error naming the package, never a skipped test.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where Debian installs it; `PROMTOOL` overrides (another distribution, a downloaded release). */
export function promtoolPath(): string {
  const path = process.env.PROMTOOL ?? '/usr/bin/promtool';
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(
      `promtool not found at ${path}: install Debian's "prometheus" package (listed in .ci/apt-packages.txt) or set PROMTOOL`,
    );
  }
  return path;
}

/** Names of prom-client's default metrics, which the contract exempts from `check metrics`. */
const PROM_CLIENT_DEFAULTS = /^(process_|nodejs_)/;

/**
 * Runs `promtool check metrics` on a scrape and returns its complaints (one per line), minus
 * those about prom-client's own default metrics. An empty array means the scrape passes.
 */
export async function checkMetrics(scrape: string): Promise<string[]> {
  const promtool = promtoolPath();
  const output = await new Promise<string>((resolve, reject) => {
    const child = execFile(promtool, ['check', 'metrics'], (error, stdout, stderr) => {
      // A non-zero exit with the complaints on stderr is "lint problems found": still an answer.
      // Only a failure to run it at all (no exit code) is an error.
      const code = (error as { code?: unknown } | null)?.code;
      if (error && typeof code !== 'number')
        reject(new Error(`${promtool}: ${error.message}`, { cause: error }));
      else resolve(`${stdout}${stderr}`);
    });
    child.stdin?.end(scrape);
  });
  return output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .filter((line) => !PROM_CLIENT_DEFAULTS.test(line));
}

/** `promtool <args…>`; resolves with its output, rejects with it (in the message) on failure. */
export async function promtool(args: readonly string[], cwd?: string): Promise<string> {
  try {
    const { stdout, stderr } = await run(promtoolPath(), [...args], { cwd, timeout: 60_000 });
    return `${stdout}${stderr}`;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `promtool ${args.join(' ')} failed:\n${failed.stdout ?? ''}${failed.stderr ?? failed.message}`,
      { cause: error },
    );
  }
}

/**
 * The rule groups of a PrometheusRule manifest as a Prometheus rule file, by text: the manifest
 * from its `  groups:` line on, one indent (2 spaces) less. The manifest keeps `groups` as the
 * last key of `spec` for this; tests/deploy checks the result against a YAML parse.
 */
export function ruleFileFromPrometheusRule(manifest: string): string {
  const lines = manifest.split('\n');
  const start = lines.indexOf('  groups:');
  if (start === -1) throw new Error('no "  groups:" line (spec.groups) in the PrometheusRule');
  return lines
    .slice(start)
    .map((line) => line.slice(2))
    .join('\n');
}
