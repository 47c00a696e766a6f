/**
 * The e2e suite's view of the harness: instance 1 (so a person's `pnpm sim up`, instance 0,
 * can stay up meanwhile), logs copied into test-artifacts when a simulation is taken down.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { downClusterSet, upClusterSet } from '@s2s/clusterset-sim';
import type { ClusterSet, ClusterSetOptions } from '@s2s/clusterset-sim';

export const E2E_INSTANCE = 1;

const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** `tests/e2e/test-artifacts/<name>` (gitignored), created on demand. */
export function artifactsDir(name = ''): string {
  const dir = path.join(PACKAGE_ROOT, 'test-artifacts', name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export type SimulationOptions = Omit<ClusterSetOptions, 'instance'>;

export async function startSimulation(options: SimulationOptions = {}): Promise<ClusterSet> {
  // Leftovers of an interrupted run of this instance would make `up` refuse.
  await downClusterSet({ instance: E2E_INSTANCE });
  return upClusterSet({ startTimeoutMs: 60_000, ...options, instance: E2E_INSTANCE });
}

/** Takes the simulation down and keeps its logs as `test-artifacts/logs-<name>`. */
export async function stopSimulation(name: string): Promise<void> {
  await downClusterSet({ instance: E2E_INSTANCE, keepLogs: artifactsDir(`logs-${name}`) });
}
