// `pnpm bench` for this package: runs every *.bench.mjs in this folder, one after the other.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
let failed = false;
for (const file of readdirSync(dir)
  .filter((name) => name.endsWith('.bench.mjs'))
  .sort()) {
  console.log(`\n== ${file}`);
  const { status } = spawnSync(process.execPath, [file], { cwd: dir, stdio: 'inherit' });
  if (status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
