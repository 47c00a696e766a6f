import { formatDuration, formatLatency } from './duration.js';
import type { LoadReport } from './result-types.js';
import { formatPercent } from './slo.js';
import {
  escapeXml,
  lineChart,
  stackedBarChart,
  timelineChart,
  type Series,
  type TimelineSegment,
} from './svg-charts.js';

const OUTCOME_COLORS: Record<string, string> = {
  ok: '#2e7d32',
  upstream_error: '#ef6c00',
  timeout: '#6a1b9a',
  circuit_open: '#c62828',
  unreachable: '#5d4037',
  invalid: '#78909c',
  error: '#212121',
  cancelled: '#bdbdbd',
};
const EXTRA_COLORS = ['#0277bd', '#00838f', '#ad1457', '#9e9d24', '#4527a0'];
const BREAKER_COLORS: Record<string, string> = {
  closed: '#66bb6a',
  half_open: '#ffb300',
  open: '#e53935',
};

/** One self-contained HTML page (inline CSS and SVG, no script, no network) for a run. */
export function renderHtmlReport(report: LoadReport): string {
  const seconds = report.timeseries;
  const secondTick = (i: number): string => `${seconds[i]?.second ?? i}s`;

  const latencyChart = lineChart({
    title:
      'Latency percentiles per second (from scheduled send time, by the second requests were due)',
    xLabel: 'second of the measured time',
    yLabel: 'latency (log scale)',
    unit: 'ms',
    scale: 'log',
    xTick: secondTick,
    series: (['p50', 'p90', 'p99', 'max'] as const).map((key, i): Series => ({
      name: key,
      color: ['#1565c0', '#00897b', '#f4511e', '#6d4c41'][i]!,
      values: seconds.map((s) => s.latencyMs?.[key] ?? null),
    })),
  });

  const throughputChart = lineChart({
    title: 'Throughput per second: scheduled (target) and completed (achieved)',
    xLabel: 'second of the measured time',
    yLabel: 'requests per second',
    unit: '',
    scale: 'linear',
    xTick: secondTick,
    series: [
      { name: 'scheduled', color: '#90a4ae', values: seconds.map((s) => s.scheduled) },
      { name: 'completed', color: '#1565c0', values: seconds.map((s) => s.completed) },
      { name: 'errors', color: '#c62828', values: seconds.map((s) => s.errors) },
    ],
  });

  const outcomeNames = Object.keys(report.outcomeCounts).sort(
    (a, b) => outcomeRank(a) - outcomeRank(b) || a.localeCompare(b),
  );
  let extra = 0;
  const outcomesChart = stackedBarChart({
    title: 'Outcomes per second (by the second requests were due)',
    xLabel: 'second of the measured time',
    yLabel: 'requests',
    unit: '',
    xTick: secondTick,
    series: outcomeNames.map((name) => ({
      name,
      color: OUTCOME_COLORS[name] ?? EXTRA_COLORS[extra++ % EXTRA_COLORS.length]!,
      values: seconds.map((s) => s.outcomes[name] ?? 0),
    })),
  });

  const totalMs = Math.max(report.durationMs, seconds.length * 1000);
  const caller = report.callerBreaker;
  const callerChart = timelineChart({
    title: "Circuit breaker state: the caller's own record (GET /caller/events)",
    totalMs,
    segments:
      caller === null || (!caller.recorded && report.breakerTransitions.length === 0)
        ? []
        : breakerSegments(caller.initialState, report.breakerTransitions, totalMs),
    colors: BREAKER_COLORS,
    emptyText:
      caller === null
        ? 'not read (--breaker-events off)'
        : `not recorded: ${caller.error ?? 'unknown'}`,
  });
  const envelopeChart = timelineChart({
    title: 'Circuit breaker state seen in the envelopes (inferred from answers; can miss a cycle)',
    totalMs,
    segments: breakerSegments(
      report.breakerStates.first,
      report.envelopeBreakerTransitions,
      totalMs,
    ),
    colors: BREAKER_COLORS,
    emptyText: 'no breaker state in the answers (not the caller, or no answer)',
  });

  const buckets = report.latencyDistribution;
  const bucketAt = (ms: number): number => {
    const index = buckets.findIndex((b) => ms < b.toMs);
    if (index < 0) return buckets.length;
    const b = buckets[index]!;
    return index + Math.min(1, Math.max(0, Math.log(ms / b.fromMs) / Math.log(b.toMs / b.fromMs)));
  };
  const distributionChart = stackedBarChart({
    title: 'Latency distribution (log buckets, 10 per decade)',
    xLabel: 'latency from scheduled send time',
    yLabel: 'requests',
    unit: '',
    xTick: (i) => formatLatency(buckets[i]?.fromMs ?? 0),
    series: [{ name: 'requests', color: '#5c6bc0', values: buckets.map((b) => b.count) }],
    markers:
      buckets.length === 0
        ? []
        : [
            { at: bucketAt(report.latencyMs.p50), label: 'p50', color: '#1565c0' },
            { at: bucketAt(report.latencyMs.p99), label: 'p99', color: '#f4511e' },
            { at: bucketAt(report.latencyMs.p999), label: 'p99.9', color: '#6d4c41' },
          ],
  });

  const sloBlock = report.slo
    ? `<h2>SLO: ${report.slo.passed ? '<span class="pass">met</span>' : '<span class="fail">broken</span>'}</h2>` +
      table(
        ['objective', 'actual', 'limit', 'result'],
        report.slo.objectives.map((o) => [
          o.objective,
          o.actual,
          o.threshold,
          o.passed ? 'ok' : 'FAILED',
        ]),
      )
    : '';

  let transitions: string;
  if (caller === null) {
    transitions = "<p>The caller's record was not read (<code>--breaker-events off</code>).</p>";
  } else if (!caller.recorded && report.breakerTransitions.length === 0) {
    transitions = `<p class="fail">The caller's breaker record is missing: ${escapeXml(caller.error ?? 'unknown')}. Only the envelope view below is available, and it can miss a cycle.</p>`;
  } else {
    transitions =
      (caller.error === null
        ? ''
        : `<p class="fail">The caller's record is incomplete: ${escapeXml(caller.error)}</p>`) +
      (report.breakerTransitions.length === 0
        ? `<p>No breaker transitions in the caller's record: ${escapeXml(caller.initialState ?? 'unknown')} throughout.</p>`
        : table(
            ["at (caller's record)", 'from', 'to', "caller's time"],
            report.breakerTransitions.map((t) => [
              formatDuration(t.atMs),
              t.from,
              t.to,
              t.at ?? '',
            ]),
          ));
  }

  const generator = report.generator;
  const generatorBlock =
    `<h2>Generator: ${generator.valid ? '<span class="pass">measurement valid</span>' : '<span class="fail">measurement invalid</span>'}</h2>` +
    (generator.reason === null ? '' : `<p class="fail">${escapeXml(generator.reason)}</p>`) +
    table(
      ['send lag (due → handed to the pool)', 'p50', 'p99', 'max', 'valid while p99 ≤'],
      [
        [
          report.workers.count > 1
            ? `all ${report.workers.count} workers, merged`
            : 'the generator',
          ...[generator.sendLagMs.p50, generator.sendLagMs.p99, generator.sendLagMs.max].map(
            formatLatency,
          ),
          formatLatency(generator.maxSendLagP99Ms),
        ],
        ...(report.workers.count > 1
          ? report.workers.results.map((w) => [
              `worker ${w.index}: ${w.requests} requests at ${round2(w.rate)}/s`,
              '',
              formatLatency(w.sendLagP99Ms),
              '',
              '',
            ])
          : []),
      ],
    ) +
    '<p class="meta">Latency counts from the schedule, so the generator\'s own lateness is part of it: above the limit, the latencies are partly the generator\'s and the run is reported invalid (exit 3).</p>';

  const producerBlock =
    report.byProducer.length === 0
      ? '<p>No answers.</p>'
      : table(
          ['producer cluster', 'pod', 'requests', 'p50', 'p90', 'p99', 'max', 'outcomes'],
          report.byProducer.map((p) => [
            p.cluster ?? (p.pod === null ? '(no producer answered)' : '?'),
            p.pod ?? '',
            String(p.requests),
            ...[p.latencyMs.p50, p.latencyMs.p90, p.latencyMs.p99, p.latencyMs.max].map(
              formatLatency,
            ),
            entries(p.outcomeCounts)
              .map(([k, v]) => `${k} ${v}`)
              .join(', '),
          ]),
        );

  const latencyRow = (name: string, l: LoadReport['latencyMs']): string[] => [
    name,
    ...[l.p50, l.p90, l.p99, l.p999, l.max].map(formatLatency),
  ];

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>s2s load test — ${escapeXml(report.url)}</title>
<style>
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px auto; max-width: 920px; color: #212121; padding: 0 12px; }
  h1 { font-size: 22px; margin-bottom: 4px; }
  h2 { font-size: 17px; margin: 28px 0 8px; }
  .meta { color: #546e7a; margin: 0 0 16px; }
  .cards { display: flex; flex-wrap: wrap; gap: 10px; }
  .card { border: 1px solid #cfd8dc; border-radius: 6px; padding: 8px 12px; min-width: 120px; }
  .card b { display: block; font-size: 20px; }
  table { border-collapse: collapse; margin: 4px 0 8px; }
  th, td { border-bottom: 1px solid #eceff1; padding: 3px 12px 3px 0; text-align: right; }
  th:first-child, td:first-child { text-align: left; }
  .pass { color: #2e7d32; } .fail { color: #c62828; }
  figure { margin: 12px 0 20px; }
  figcaption { color: #546e7a; font-size: 13px; }
  svg.chart { max-width: 100%; height: auto; font-size: 11px; background: #fff; }
  svg .grid { stroke: #eceff1; } svg .axis { stroke: #90a4ae; fill: none; }
  svg .tick, svg .axis-label, svg .legend-item text { fill: #546e7a; }
  svg .empty { fill: #90a4ae; font-size: 13px; }
</style>
</head>
<body>
<h1>s2s load test</h1>
<p class="meta">${escapeXml(report.url)} · started ${escapeXml(report.startedAt)} · ${escapeXml(formatDuration(report.durationMs))} measured after ${escapeXml(formatDuration(report.warmupMs))} warm-up · at most ${report.connections} connections${report.workers.count > 1 ? ` over ${report.workers.count} workers` : ''}</p>
<div class="cards">
  ${card('requests', String(report.requests))}
  ${card('achieved rate', `${report.rate}/s`)}
  ${card('target rate', `${report.targetRate}/s`)}
  ${card('p50', formatLatency(report.latencyMs.p50))}
  ${card('p99', formatLatency(report.latencyMs.p99))}
  ${card('p99.9', formatLatency(report.latencyMs.p999))}
  ${card('max', formatLatency(report.latencyMs.max))}
  ${card('errors', `${report.errorCount} (${formatPercent(report.errorRatio)})`)}
</div>
${sloBlock}
${generatorBlock}
<h2>Latency</h2>
${table(['measured from', 'p50', 'p90', 'p99', 'p99.9', 'max'], [latencyRow('scheduled send time', report.latencyMs), latencyRow('socket write', report.serviceTimeMs)])}
<p class="meta">Latency counts from each request's scheduled send time (open model), so a stall shows up in every request that should have been sent during it. The "socket write" row is what a closed-loop tool would report.</p>
<figure>${latencyChart}<figcaption>Each point summarises the requests due in that second.</figcaption></figure>
<h2>Throughput</h2>
<figure>${throughputChart}</figure>
<h2>Outcomes</h2>
<div class="cards">${table(['status', 'count'], entries(report.statusCounts))}${table(['outcome', 'count'], entries(report.outcomeCounts))}${
    Object.keys(report.errors).length > 0
      ? table(['connection error', 'count'], entries(report.errors))
      : ''
  }</div>
<figure>${outcomesChart}</figure>
<h2>By producer cluster and pod</h2>
${producerBlock}
<p class="meta">From each envelope's <code>producerMetadata</code> (<code>clusterName</code>, <code>podName</code>): a failover shows as requests moving from one cluster to the other.</p>
<h2>Circuit breaker</h2>
<h3>The caller's own record (${escapeXml(caller?.url ?? 'GET /caller/events')})</h3>
<figure>${callerChart}</figure>
${transitions}
<h3>Seen in the envelopes (inferred from the answers)</h3>
<figure>${envelopeChart}</figure>
<p class="meta">The second line is inferred from each answer's <code>breaker.state</code>: ${report.envelopeBreakerTransitions.length} change(s) seen there. It misses a cycle that happens between two answers; the first line is the caller's own record of every transition.</p>
<h2>Latency distribution</h2>
<figure>${distributionChart}</figure>
</body>
</html>
`;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function breakerSegments(
  first: string | null,
  transitions: LoadReport['breakerTransitions'],
  totalMs: number,
): TimelineSegment[] {
  if (first === null) return [];
  const segments: TimelineSegment[] = [];
  let state: string = first;
  let from = 0;
  for (const t of transitions) {
    segments.push({ fromMs: from, toMs: t.atMs, state });
    state = t.to;
    from = t.atMs;
  }
  segments.push({ fromMs: from, toMs: totalMs, state });
  return segments.filter((s) => s.toMs > s.fromMs);
}

function outcomeRank(outcome: string): number {
  const order = Object.keys(OUTCOME_COLORS).indexOf(outcome);
  return order < 0 ? 100 : order;
}

function card(label: string, value: string): string {
  return `<div class="card">${escapeXml(label)}<b>${escapeXml(value)}</b></div>`;
}

function entries(counts: Record<string, number>): string[][] {
  return Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => [k, String(v)]);
}

function table(header: string[], rows: string[][]): string {
  const head = header.map((h) => `<th>${escapeXml(h)}</th>`).join('');
  const body = rows
    .map((r) => `<tr>${r.map((c) => `<td>${escapeXml(c)}</td>`).join('')}</tr>`)
    .join('');
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}
