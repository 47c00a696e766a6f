#!/usr/bin/env node
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseCommandLine, USAGE, UsageError, type CliOptions } from './args.js';
import { renderHtmlReport } from './html-report.js';
import { renderProgress } from './progress.js';
import { runLoad } from './run-load.js';
import { quitSidecar, sidecarQuitUrl } from './sidecar-quit.js';
import { evaluateSlo } from './slo.js';
import { renderSummary } from './summary.js';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

async function main(argv: readonly string[]): Promise<number> {
  let options: CliOptions;
  try {
    const parsed = parseCommandLine(argv);
    if (parsed.help) {
      process.stdout.write(`${USAGE}\n`);
      return EXIT_OK;
    }
    options = parsed.options;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`s2s-loadtest: ${error.message}\nRun with --help for the flags.\n`);
      return EXIT_USAGE;
    }
    throw error;
  }

  // Ctrl-C stops scheduling; what was measured so far is still reported.
  const stop = new AbortController();
  const onSigint = (): void => stop.abort();
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigint);

  const live = process.stderr.isTTY === true;
  const report = await runLoad({
    url: options.url,
    rate: options.rate,
    durationMs: options.durationMs,
    warmupMs: options.warmupMs,
    connections: options.connections,
    delayMs: options.delayMs,
    responseCode: options.responseCode,
    signal: stop.signal,
    onProgress: live
      ? (progress) => process.stderr.write(`\r${renderProgress(progress)}\x1b[K`)
      : undefined,
  });
  if (live) process.stderr.write('\r\x1b[K');
  process.off('SIGINT', onSigint);
  process.off('SIGTERM', onSigint);

  if (options.slo) report.slo = evaluateSlo(options.slo, report);
  // `--json -` puts the JSON on stdout, so the summary moves to stderr and stdout stays parseable.
  const jsonToStdout = options.jsonFile === '-';
  (jsonToStdout ? process.stderr : process.stdout).write(renderSummary(report));

  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (jsonToStdout) process.stdout.write(json);
  else if (options.jsonFile) await writeReport(options.jsonFile, json);
  if (options.htmlFile) await writeReport(options.htmlFile, renderHtmlReport(report));

  if (report.slo && !report.slo.passed) {
    for (const failed of report.slo.objectives.filter((o) => !o.passed)) {
      process.stderr.write(
        `SLO broken: ${failed.objective} (measured ${failed.actual}, limit ${failed.threshold})\n`,
      );
    }
    return EXIT_FAILED;
  }
  return EXIT_OK;
}

async function writeReport(file: string, content: string): Promise<void> {
  const path = resolve(file);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
  process.stderr.write(`wrote ${path}\n`);
}

/** Runs the CLI, then stops a classic sidecar if one was named, keeping the CLI's exit status. */
async function run(argv: readonly string[]): Promise<number> {
  let quitUrl: URL | undefined;
  try {
    quitUrl = sidecarQuitUrl(process.env);
  } catch (error) {
    process.stderr.write(`s2s-loadtest: ${(error as Error).message}\n`);
    return EXIT_USAGE;
  }
  let code: number;
  try {
    code = await main(argv);
  } catch (error) {
    process.stderr.write(
      `s2s-loadtest: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    code = EXIT_FAILED;
  }
  if (quitUrl) await quitSidecar(quitUrl, (line) => process.stderr.write(`${line}\n`));
  return code;
}

void run(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
