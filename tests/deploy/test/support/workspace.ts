// The pnpm workspace as the Dockerfiles see it: package names → folders, and the closure of
// workspace packages an app needs at build time.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fromRepo, repoRoot } from './paths.js';

export interface PackageJson {
  name: string;
  scripts?: Record<string, string>;
  files?: string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

export function readPackageJson(dir: string): PackageJson {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
}

/** Every workspace package: name → folder relative to the repository root. */
export function workspacePackages(): Map<string, string> {
  const found = new Map<string, string>();
  for (const parent of ['apps', 'packages', 'tests']) {
    const root = fromRepo(parent);
    if (!existsSync(root)) continue;
    for (const entry of readdirSync(root)) {
      const dir = join(root, entry);
      if (existsSync(join(dir, 'package.json')))
        found.set(readPackageJson(dir).name, relative(repoRoot, dir));
    }
  }
  if (existsSync(fromRepo('bench', 'package.json')))
    found.set(readPackageJson(fromRepo('bench')).name, 'bench');
  return found;
}

/** The app and every workspace package it depends on (dev dependencies included: they build it). */
export function buildClosure(appName: string): string[] {
  const packages = workspacePackages();
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    const dir = packages.get(name);
    if (!dir) throw new Error(`workspace package ${name} not found`);
    seen.add(name);
    const manifest = readPackageJson(fromRepo(dir));
    for (const [dep, range] of Object.entries({
      ...manifest.dependencies,
      ...manifest.devDependencies,
    })) {
      if (range.startsWith('workspace:')) visit(dep);
    }
  };
  visit(appName);
  return [...seen].map((name) => packages.get(name) as string);
}

/** Files below `dir` (relative to the repo), skipping node_modules, dist and dot-folders. */
export function listSourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(fromRepo(rel), { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.'))
        continue;
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else out.push(child);
    }
  };
  walk(dir);
  return out;
}
