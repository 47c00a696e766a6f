// Sums every package's vitest JSON report into the one plain line CI reads.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['apps', 'packages', 'tests'];
const reports = [];
for (const root of roots) {
  if (!existsSync(root)) continue;
  for (const entry of readdirSync(root)) reports.push(join(root, entry, '.vitest', 'results.json'));
}
reports.push(join('bench', '.vitest', 'results.json'));

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of reports) {
  if (!existsSync(file)) continue;
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
}
const status = Number(process.argv[2] ?? 0);
// A failing step that ran no test (lint, typecheck, a crashed suite) still counts as a failure.
if (status !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
if (passed === 0 && failed === 0) process.exitCode = 1;
