// Sums every package's vitest JSON report into the one plain line CI reads. Every workspace
// package with a `test` script must have left a report: one that didn't (its tests never ran,
// or vitest crashed before writing it) counts as a failure, so the count is never partial.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const packageDirs = ['apps', 'packages', 'tests']
  .filter((root) => existsSync(root))
  .flatMap((root) => readdirSync(root).map((entry) => join(root, entry)))
  .concat(['bench'])
  .filter((dir) => existsSync(join(dir, 'package.json')));

let passed = 0;
let failed = 0;
let skipped = 0;
const problems = [];
for (const dir of packageDirs) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  if (!pkg.scripts?.test) continue;
  const file = join(dir, '.vitest', 'results.json');
  if (!existsSync(file)) {
    problems.push(`${pkg.name}: no test report (${file}): its tests did not run or did not finish`);
    failed += 1;
    continue;
  }
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  // A test file that failed to load has no failed test, only a failed suite.
  const brokenFiles = (report.testResults ?? []).filter(
    (result) =>
      result.status === 'failed' &&
      (result.assertionResults ?? []).every((a) => a.status !== 'failed'),
  );
  for (const result of brokenFiles) {
    problems.push(
      `${pkg.name}: ${result.name} failed outside any test: ${(result.message ?? '').split('\n')[0]}`,
    );
    failed += 1;
  }
}
for (const problem of problems) console.log(problem);
// argv: the test command's exit status, then the steps that failed outside the test runner
// (lint, typecheck): each counts as one failure.
const [testStatus = '0', ...failedSteps] = process.argv.slice(2);
for (const step of failedSteps) console.log(`step failed: ${step}`);
failed += failedSteps.length;
// The test command failed but no report says why (e.g. a build it depends on failed).
if (Number(testStatus) !== 0 && failed === 0) {
  console.log(`the test command exited ${testStatus} with no failed test in any report`);
  failed = 1;
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
if (passed === 0 && failed === 0) process.exitCode = 1;
if (failed > 0) process.exitCode = 1;
