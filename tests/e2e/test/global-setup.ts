/**
 * Fails the whole suite loudly when the simulation cannot run here (not root, no `ip netns`,
 * apps not built), and always removes what a run left behind, before and after.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_STATE_ROOT, assertCanSimulate, downClusterSet } from '@s2s/clusterset-sim';
import { acquireInstanceLock } from '../src/instance-lock.js';
import { E2E_INSTANCE } from '../src/simulation.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export default async function setup(): Promise<() => Promise<void>> {
  await assertCanSimulate();
  for (const app of ['caller', 'producer']) {
    const entry = path.join(REPO_ROOT, 'apps', app, 'dist', 'server.js');
    if (!fs.existsSync(entry)) {
      throw new Error(
        `${entry} is missing: the e2e tests run the built apps (turbo builds them before "test")`,
      );
    }
  }
  const release = await acquireInstanceLock(
    path.join(DEFAULT_STATE_ROOT, `e2e-${E2E_INSTANCE}.lock`),
    6 * 60_000,
  );
  try {
    await downClusterSet({ instance: E2E_INSTANCE });
  } catch (error) {
    release();
    throw error;
  }
  return async () => {
    try {
      await downClusterSet({ instance: E2E_INSTANCE });
    } finally {
      release();
    }
  };
}
