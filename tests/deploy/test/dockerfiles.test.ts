// The images' Dockerfiles against the apps they package: base image, build with pnpm deploy,
// a non-root runtime that starts exactly like the app's start script, a dev target for Skaffold.
import { readFileSync } from 'node:fs';
import dockerignoreModule from '@balena/dockerignore';
import { describe, expect, it } from 'vitest';
import { deployCommand, parseDockerfile, stage } from './support/dockerfile.js';
import { apps, fromRepo } from './support/paths.js';
import { buildClosure, listSourceFiles, readPackageJson } from './support/workspace.js';
import { commandShape, expectedRuntimeCommand } from './support/start-command.js';

// A CommonJS module whose typings declare an ES default export: at run time the import is the factory.
const dockerignore = dockerignoreModule as unknown as typeof dockerignoreModule.default;
const ignored = dockerignore().add(readFileSync(fromRepo('.dockerignore'), 'utf8'));

describe.each(apps)('apps/%s/Dockerfile', (app) => {
  const dockerfilePath = fromRepo('apps', app, 'Dockerfile');
  const stages = parseDockerfile(dockerfilePath);
  const runtime = stage(stages, 'runtime');
  const build = stage(stages, 'build');
  const pkg = readPackageJson(fromRepo('apps', app));

  it('builds from a Node 24 slim base in a build stage and ends with the runtime stage', () => {
    for (const s of stages) {
      if (stages.some((other) => other.name === s.image)) continue; // FROM build AS dev
      expect(s.image).toMatch(/^node:24-[a-z]+-slim$/);
    }
    expect(stages.at(-1)?.name).toBe('runtime'); // the default target is what production runs
    expect(stages.map((s) => s.name)).toEqual(expect.arrayContaining(['build', 'dev', 'runtime']));
  });

  it('installs pnpm 10 from the npm registry, not with corepack', () => {
    const runs = build.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /npm install -g pnpm@10\b/.test(r))).toBe(true);
    expect(runs.some((r) => /corepack/.test(r))).toBe(false);
  });

  it('packages the app with the lockfile-based `pnpm --filter @s2s/<app> --prod deploy` into /out, offline', () => {
    const words = deployCommand(app);
    expect(words.slice(0, 1)).toEqual(['pnpm']);
    expect(words).toEqual(
      expect.arrayContaining([
        '--filter',
        pkg.name,
        '--prod',
        'deploy',
        '--config.inject-workspace-packages=true',
        '--offline',
      ]),
    );
    // --legacy re-resolves version ranges and needs registry metadata a clean machine lacks.
    expect(words).not.toContain('--legacy');
    expect(words.at(-1)).toBe('/out');
    const copy = runtime.instructions.find((i) => i.keyword === 'COPY');
    expect(copy?.args).toBe('/out /app');
  });

  it('runs the runtime stage as a numeric non-root user', () => {
    const user = runtime.instructions.filter((i) => i.keyword === 'USER').at(-1)?.args ?? '';
    expect(user).toMatch(/^\d+:\d+$/);
    expect(Number(user.split(':')[0])).toBeGreaterThan(0);
  });

  it('starts the runtime like the "start" script, with the telemetry entry loaded first (exec form, Node as PID 1)', () => {
    const cmd = runtime.instructions.filter((i) => i.keyword === 'CMD').at(-1);
    expect(cmd?.json, 'CMD must be in exec form').not.toBeNull();
    expect(runtime.instructions.some((i) => i.keyword === 'ENTRYPOINT')).toBe(false);
    expect(commandShape(cmd?.json ?? [])).toEqual(commandShape(expectedRuntimeCommand(pkg)));
    expect(runtime.instructions.find((i) => i.keyword === 'WORKDIR')?.args).toBe('/app');
  });

  it('exposes the port the manifests use', () => {
    expect(runtime.instructions.find((i) => i.keyword === 'EXPOSE')?.args).toBe('8080');
    expect(runtime.instructions.find((i) => i.keyword === 'ENV')?.args).toMatch(/PORT=8080/);
  });

  it('has a dev target that watches the app sources Skaffold syncs', () => {
    const dev = stage(stages, 'dev');
    expect(dev.image).toBe('build');
    expect(dev.instructions.find((i) => i.keyword === 'WORKDIR')?.args).toBe(`/repo/apps/${app}`);
    const cmd = dev.instructions.find((i) => i.keyword === 'CMD')?.json ?? [];
    expect(cmd.join(' ')).toMatch(/watch/);
    expect(listSourceFiles(`apps/${app}/src`)).toContain(`apps/${app}/${cmd.at(-1)}`);
    expect(dev.instructions.find((i) => i.keyword === 'USER')?.args).toMatch(/^\d+:\d+$/);
  });

  it('the build context (.dockerignore) keeps every source the image build needs', () => {
    const needed = [
      'package.json',
      'pnpm-lock.yaml',
      'pnpm-workspace.yaml',
      '.npmrc',
      'tsconfig.base.json',
      ...buildClosure(pkg.name).flatMap((dir) => [
        `${dir}/package.json`,
        `${dir}/tsconfig.json`,
        `${dir}/tsconfig.build.json`,
        ...listSourceFiles(`${dir}/src`),
      ]),
      ...(pkg.files ?? [])
        .filter((f) => f !== 'dist')
        .flatMap((f) => listSourceFiles(`apps/${app}/${f}`)),
    ];
    expect(needed.filter((path) => ignored.ignores(path))).toEqual([]);
  });
});

describe('.dockerignore', () => {
  it('keeps host builds and dependencies out of the context', () => {
    for (const path of [
      'node_modules/x',
      'apps/caller/node_modules/x',
      'apps/caller/dist/server.js',
      '.git/HEAD',
      'packages/service-kit/dist/config.js',
    ]) {
      expect(ignored.ignores(path), path).toBe(true);
    }
  });
});
