// Reads apps/*/Dockerfile with dockerfile-ast: stages, their base images (ARG defaults
// resolved), and the instructions the consistency tests compare with the apps and Skaffold.
import { readFileSync } from 'node:fs';
import { DockerfileParser } from 'dockerfile-ast';
import { parse as parseShell } from 'shell-quote';
import { fromRepo } from './paths.js';

export interface DockerInstruction {
  keyword: string;
  /** The instruction's text after the keyword, with RUN/COPY flags such as --mount removed. */
  args: string;
  /** For exec-form CMD/ENTRYPOINT: the JSON array; otherwise null. */
  json: string[] | null;
}

export interface DockerStage {
  name: string | null;
  image: string;
  instructions: DockerInstruction[];
}

export function parseDockerfile(path: string): DockerStage[] {
  const dockerfile = DockerfileParser.parse(readFileSync(path, 'utf8'));
  const initialArgs = new Map<string, string>();
  for (const arg of dockerfile.getInitialARGs()) {
    const property = arg.getProperty();
    if (property) initialArgs.set(property.getName(), property.getValue() ?? '');
  }
  const substitute = (text: string): string =>
    text.replace(
      /\$\{(\w+)\}|\$(\w+)/g,
      (_m, braced: string | undefined, bare: string | undefined) => {
        const name = (braced ?? bare) as string;
        const value = initialArgs.get(name);
        if (value === undefined) throw new Error(`${path}: FROM uses undefined ARG ${name}`);
        return value;
      },
    );

  const stages: DockerStage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword().toUpperCase();
    if (keyword === 'FROM') {
      const from = instruction as unknown as {
        getImageName(): string | null;
        getBuildStage(): string | null;
      };
      const imageWithTag = (instruction.getArgumentsContent() ?? '').split(/\s+/)[0] ?? '';
      stages.push({
        name: from.getBuildStage(),
        image: substitute(imageWithTag),
        instructions: [],
      });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) continue; // parser directives and initial ARGs
    const content = instruction.getArgumentsContent() ?? '';
    const jsonStrings = (
      instruction as unknown as { getJSONStrings?: () => { getJSONValue(): string }[] }
    ).getJSONStrings?.();
    const json =
      (keyword === 'CMD' || keyword === 'ENTRYPOINT') &&
      content.trim().startsWith('[') &&
      jsonStrings
        ? jsonStrings.map((s) => s.getJSONValue())
        : null;
    stage.instructions.push({
      keyword,
      args: content
        .replace(/\\\r?\n/g, ' ')
        .replace(/--(mount|chown|chmod|link|from|network|security)=\S+/g, '')
        .trim(),
      json,
    });
  }
  return stages;
}

export function stage(stages: DockerStage[], name: string): DockerStage {
  const found = stages.find((s) => s.name === name);
  if (!found) throw new Error(`no stage named ${name}`);
  return found;
}

/** Splits a shell command line into words (no expansion), rejecting operators. */
export function shellWords(command: string): string[] {
  return parseShell(command).map((entry) => {
    if (typeof entry !== 'string') throw new Error(`unexpected shell operator in: ${command}`);
    return entry;
  });
}

/** The build stage's deploy command as words: pnpm --filter @s2s/<app> --prod deploy … /out */
export function deployCommand(app: string): string[] {
  const build = stage(parseDockerfile(fromRepo('apps', app, 'Dockerfile')), 'build');
  const command = build.instructions
    .filter((i) => i.keyword === 'RUN')
    .flatMap((i) => i.args.split('&&').map((part) => part.trim()))
    .find((part) => /^pnpm\b.*\bdeploy\b/.test(part));
  if (!command) throw new Error(`apps/${app}/Dockerfile has no pnpm deploy step`);
  return shellWords(command);
}

/** The build stage's build command as words: pnpm --filter "@s2s/<app>..." run build */
export function buildCommand(app: string): string[] {
  const build = stage(parseDockerfile(fromRepo('apps', app, 'Dockerfile')), 'build');
  const command = build.instructions
    .filter((i) => i.keyword === 'RUN')
    .flatMap((i) => i.args.split('&&').map((part) => part.trim()))
    .find((part) => /^pnpm\b.*\brun build\b/.test(part));
  if (!command) throw new Error(`apps/${app}/Dockerfile has no pnpm run build step`);
  return shellWords(command);
}
