#!/usr/bin/env node
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  parseCommandLine,
  USAGE,
  UsageError,
  type CliOptions,
  type MergeCliOptions,
} from './args.js';
import { renderHtmlReport } from './html-report.js';
import { encodeResult, parseResults, ResultFileError, type LoadResult } from './load-result.js';
import { runLocalWorkers, WorkerFailure } from './local-workers.js';
import { MergeError, mergeResults } from './merge.js';
import { renderProgress } from './progress.js';
import type { LoadReport } from './result-types.js';
import { runLoadResult } from './run-load.js';
import { quitSidecar, sidecarQuitUrl } from './sidecar-quit.js';
import { evaluateSlo, type Objective } from './slo.js';
import { renderSummary } from './summary.js';

// The contract's exit codes (docs/contract.md, "Load test CLI").
const EXIT_PASSED = 0;
const EXIT_SLO_FAILED = 1;
const EXIT_USAGE = 2;
/** The generator fell behind, a worker failed or is missing, or the CLI itself failed. */
const EXIT_INVALID = 3;

async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    if (error instanceof UsageError) return usageFailure(error.message);
    throw error;
  }
  if (parsed.command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return EXIT_PASSED;
  }
  if (parsed.command === 'merge') return merge(parsed.options);
  return run(parsed.options);
}

async function run(options: CliOptions): Promise<number> {
  // Ctrl-C stops scheduling; what was measured so far is still reported.
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let results: LoadResult[];
  try {
    if (options.workers !== undefined) {
      process.stderr.write(`s2s-loadtest: ${options.workers} worker processes\n`);
      results = await runLocalWorkers(
        options,
        options.workers,
        fileURLToPath(import.meta.url),
        stop.signal,
      );
    } else {
      results = [await runOne(options, stop.signal)];
    }
  } catch (error) {
    if (error instanceof WorkerFailure) {
      process.stderr.write(`s2s-loadtest: measurement invalid: ${error.message}\n`);
      return EXIT_INVALID;
    }
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (options.resultFile !== undefined) {
    const line = encodeResult(results[0]!);
    if (options.resultFile === '-') process.stdout.write(line);
    else await writeReport(options.resultFile, line);
  }
  const report = mergeResults(results, {
    maxSendLagP99Ms: options.maxSendLagP99Ms,
    ownShareOnly: options.worker !== undefined,
  });
  const stdoutTaken = options.jsonFile === '-' || options.resultFile === '-';
  return finish(report, options, stdoutTaken);
}

async function runOne(options: CliOptions, signal: AbortSignal): Promise<LoadResult> {
  const live = process.stderr.isTTY === true;
  const result = await runLoadResult({
    url: options.url,
    rate: options.rate,
    durationMs: options.durationMs,
    warmupMs: options.warmupMs,
    connections: options.connections,
    delayMs: options.delayMs,
    responseCode: options.responseCode,
    // From the environment, not a flag: a secret on the command line shows in `ps` and logs.
    faultInjectionToken: process.env['FAULT_INJECTION_TOKEN'] || undefined,
    worker: options.worker,
    startAt: options.startAt,
    runId: options.runId,
    breakerEvents: options.breakerEvents,
    signal,
    onProgress: live
      ? (progress) => process.stderr.write(`\r${renderProgress(progress)}\x1b[K`)
      : undefined,
  });
  if (live) process.stderr.write('\r\x1b[K');
  return result;
}

async function merge(options: MergeCliOptions): Promise<number> {
  let report: LoadReport;
  try {
    const results: LoadResult[] = [];
    for (const file of options.files) {
      const text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
      results.push(...parseResults(text, file));
    }
    report = mergeResults(results, options);
  } catch (error) {
    if (error instanceof ResultFileError || error instanceof MergeError)
      return usageFailure(`merge: ${error.message}`);
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return usageFailure(`merge: ${(error as Error).message}`);
    throw error;
  }
  return finish(report, options, options.jsonFile === '-');
}

/** Judges, prints and writes the report; returns the exit status. */
async function finish(
  report: LoadReport,
  options: {
    slo: Objective[] | undefined;
    jsonFile: string | undefined;
    htmlFile: string | undefined;
  },
  stdoutTaken: boolean,
): Promise<number> {
  if (options.slo) report.slo = evaluateSlo(options.slo, report);
  // With JSON or a result on stdout, the summary moves to stderr so stdout stays parseable.
  (stdoutTaken ? process.stderr : process.stdout).write(renderSummary(report));

  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (options.jsonFile === '-') process.stdout.write(json);
  else if (options.jsonFile) await writeReport(options.jsonFile, json);
  if (options.htmlFile) await writeReport(options.htmlFile, renderHtmlReport(report));

  // An invalid measurement says nothing about the target, so it wins over the SLO verdict.
  if (!report.generator.valid) {
    process.stderr.write(`measurement invalid: ${report.generator.reason}\n`);
    return EXIT_INVALID;
  }
  if (report.slo && !report.slo.passed) {
    for (const failed of report.slo.objectives.filter((o) => !o.passed)) {
      process.stderr.write(
        `SLO broken: ${failed.objective} (measured ${failed.actual}, limit ${failed.threshold})\n`,
      );
    }
    return EXIT_SLO_FAILED;
  }
  return EXIT_PASSED;
}

function usageFailure(message: string): number {
  process.stderr.write(`s2s-loadtest: ${message}\nRun with --help for the flags.\n`);
  return EXIT_USAGE;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function writeReport(file: string, content: string): Promise<void> {
  const path = resolve(file);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
  process.stderr.write(`wrote ${path}\n`);
}

/** Runs the CLI, then stops a classic sidecar if one was named, keeping the CLI's exit status. */
async function runCli(argv: readonly string[]): Promise<number> {
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
    // The generator itself failed: whatever it measured is not a measurement of the target.
    process.stderr.write(
      `s2s-loadtest: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    code = EXIT_INVALID;
  }
  if (quitUrl) await quitSidecar(quitUrl, (line) => process.stderr.write(`${line}\n`));
  return code;
}

void runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
