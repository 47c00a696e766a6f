// `pnpm sim <command>`: builds what the simulation runs only for commands that start things,
// so `pnpm sim down` still cleans up when a build is broken.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = 'packages/clusterset-sim/dist/cli.js';
const args = process.argv.slice(2);
const startsThings = ['up', 'start'].includes(args[0] ?? '');

function run(command, commandArgs) {
  const result = spawnSync(command, commandArgs, { cwd: root, stdio: 'inherit' });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

if (startsThings || !existsSync(new URL(`../${cli}`, import.meta.url))) {
  const filters = startsThings
    ? ['@s2s/clusterset-sim', '@s2s/caller', '@s2s/producer']
    : ['@s2s/clusterset-sim'];
  const status = run('pnpm', [
    'exec',
    'turbo',
    'run',
    'build',
    '--output-logs=errors-only',
    ...filters.map((name) => `--filter=${name}`),
  ]);
  if (status !== 0) process.exit(status);
}
process.exit(run(process.execPath, [cli, ...args]));
