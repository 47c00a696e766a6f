// Where things live in the repository, resolved from this package so tests run from any cwd.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const deployTestsRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const repoRoot = resolve(deployTestsRoot, '..', '..');

export const fromRepo = (...segments: string[]): string => join(repoRoot, ...segments);

/** The overlays users deploy; every one must render and validate. */
export const overlays = [
  'k8s/overlays/caller-cluster',
  'k8s/overlays/producer-cluster',
  'k8s/overlays/producer-cluster-2',
  'k8s/overlays/single-cluster',
  'k8s/overlays/dev/caller-cluster',
  'k8s/overlays/dev/producer-cluster',
  'k8s/overlays/dev/single-cluster',
] as const;
export type Overlay = (typeof overlays)[number];

export const apps = ['caller', 'producer'] as const;
export type AppName = (typeof apps)[number];

export function mustExist(path: string, what: string): string {
  if (!existsSync(path)) throw new Error(`${what} is missing: ${path}`);
  return path;
}
