import { formatDuration, formatLatency } from './duration.js';
import type { LoadReport } from './result-types.js';
import { formatPercent } from './slo.js';

/** The plain-text summary printed on stdout at the end of a run. */
export function renderSummary(report: LoadReport): string {
  const lines: string[] = [];
  const achieved = report.targetRate > 0 ? report.rate / report.targetRate : 0;
  lines.push(`s2s-loadtest  ${report.url}`);
  lines.push(
    `  ${report.requests} requests in ${formatDuration(report.durationMs)} (after ${formatDuration(report.warmupMs)} warm-up), ` +
      `${report.connections} connections max` +
      (report.workers.count > 1
        ? report.workers.results.length === 1 && report.generator.valid
          ? ` (worker ${report.workers.results[0]!.index} of ${report.workers.count}: its share only)`
          : ` over ${report.workers.count} workers (${report.workers.results.length} merged)`
        : ''),
  );
  lines.push(
    `  rate: ${report.rate}/s achieved of ${report.targetRate}/s target (${(achieved * 100).toFixed(1)}%)`,
  );
  lines.push(
    `  errors: ${report.errorCount} (${formatPercent(report.errorRatio)})` +
      (report.cancelled > 0
        ? `, ${report.cancelled} cancelled after the ${formatDuration(report.graceMs)} grace period`
        : ''),
  );
  lines.push('');
  lines.push(
    table(
      ['latency', 'p50', 'p90', 'p99', 'p99.9', 'max'],
      [
        ['from schedule', ...latencyRow(report.latencyMs)],
        ['from socket write', ...latencyRow(report.serviceTimeMs)],
      ],
    ),
  );
  lines.push(
    '  (from schedule: what users saw, queueing included; from socket write: what a closed-loop tool shows)',
  );
  lines.push('');
  lines.push(table(['status', 'count'], sortedEntries(report.statusCounts)));
  lines.push('');
  lines.push(table(['outcome', 'count'], sortedEntries(report.outcomeCounts)));
  if (Object.keys(report.errors).length > 0) {
    lines.push('');
    lines.push(table(['connection error', 'count'], sortedEntries(report.errors)));
  }
  lines.push('');
  const caller = report.callerBreaker;
  if (caller === null) {
    lines.push("breaker (caller's record): not read (--breaker-events off)");
  } else if (!caller.recorded && report.breakerTransitions.length === 0) {
    lines.push(`breaker (caller's record): NOT RECORDED: ${caller.error ?? 'unknown'}`);
  } else {
    if (caller.error !== null) lines.push(`breaker (caller's record): INCOMPLETE: ${caller.error}`);
    lines.push(
      report.breakerTransitions.length === 0
        ? `breaker (caller's record, ${caller.url}): no transitions (state ${caller.initialState ?? 'unknown'} throughout)`
        : `breaker (caller's record, ${caller.url}): ${caller.initialState ?? '?'} at the start\n` +
            table(
              ['breaker at', 'from', 'to'],
              report.breakerTransitions.map((t) => [formatDuration(t.atMs), t.from, t.to]),
            ),
    );
  }
  const inferred = report.envelopeBreakerTransitions;
  lines.push(
    `breaker seen in the envelopes (inferred, can miss a short cycle): ${
      inferred.length === 0
        ? `no change${report.breakerStates.last ? ` (state ${report.breakerStates.last})` : ''}`
        : inferred.map((t) => `${formatDuration(t.atMs)} ${t.from}→${t.to}`).join(', ')
    }`,
  );
  if (report.byProducer.length > 0) {
    lines.push('');
    lines.push(
      table(
        ['producer cluster / pod', 'requests', 'p50', 'p99', 'max', 'outcomes'],
        report.byProducer.map((p) => [
          p.cluster === null && p.pod === null
            ? '(no producer answered)'
            : `${p.cluster ?? '?'} / ${p.pod ?? '?'}`,
          String(p.requests),
          formatLatency(p.latencyMs.p50),
          formatLatency(p.latencyMs.p99),
          formatLatency(p.latencyMs.max),
          sortedEntries(p.outcomeCounts)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
        ]),
      ),
    );
  }
  const generator = report.generator;
  lines.push('');
  lines.push(
    `generator: send lag p50 ${formatLatency(generator.sendLagMs.p50)}, p99 ${formatLatency(generator.sendLagMs.p99)}, ` +
      `max ${formatLatency(generator.sendLagMs.max)} (valid while p99 <= ${formatLatency(generator.maxSendLagP99Ms)}): ` +
      (generator.valid ? 'measurement valid' : `MEASUREMENT INVALID: ${generator.reason}`),
  );
  if (report.slo) {
    lines.push('');
    lines.push(
      table(
        ['SLO', 'actual', 'limit', 'result'],
        report.slo.objectives.map((o) => [
          o.objective,
          o.actual,
          o.threshold,
          o.passed ? 'ok' : 'FAILED',
        ]),
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

function latencyRow(latency: LoadReport['latencyMs']): string[] {
  return [latency.p50, latency.p90, latency.p99, latency.p999, latency.max].map(formatLatency);
}

function sortedEntries(counts: Record<string, number>): string[][] {
  return Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, count]) => [key, String(count)]);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`.trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
