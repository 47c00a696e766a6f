// How the image starts an app: its package.json "start" script, plus the OpenTelemetry entry
// (`--import @s2s/telemetry/register`) when the app depends on @s2s/telemetry and the script
// does not load it yet — issue 4: the image loads the telemetry entry when that package exists.
import { shellWords } from './dockerfile.js';
import type { PackageJson } from './workspace.js';

export const TELEMETRY_IMPORT = ['--import', '@s2s/telemetry/register'] as const;

export function expectedRuntimeCommand(pkg: PackageJson): string[] {
  const words = shellWords(pkg.scripts?.['start'] ?? '');
  if (words[0] !== 'node')
    throw new Error(`${pkg.name}: start script does not run node: ${pkg.scripts?.['start']}`);
  const usesTelemetry = pkg.dependencies?.['@s2s/telemetry'] !== undefined;
  const loadsIt = words.some(
    (w, i) => w === TELEMETRY_IMPORT[0] && words[i + 1] === TELEMETRY_IMPORT[1],
  );
  return usesTelemetry && !loadsIt ? ['node', ...TELEMETRY_IMPORT, ...words.slice(1)] : words;
}

/** Program, entry file and the set of Node options (`--import X` as one option), order-free. */
export function commandShape(words: readonly string[]): {
  program: string;
  entry: string;
  options: string[];
} {
  const options: string[] = [];
  for (let i = 1; i < words.length - 1; i += 1) {
    const word = words[i] as string;
    if (
      (word === '--import' || word === '--require' || word === '-r') &&
      i + 1 < words.length - 1
    ) {
      options.push(`${word} ${words[i + 1]}`);
      i += 1;
    } else options.push(word);
  }
  return { program: words[0] ?? '', entry: words.at(-1) ?? '', options: options.sort() };
}
