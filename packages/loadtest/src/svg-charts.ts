// Small SVG chart renderers for the HTML report. The report must open offline as one file, so
// the charts are drawn here as plain SVG markup instead of pulling a charting library into it.

export interface Series {
  name: string;
  color: string;
  /** y per x; null leaves a gap. */
  values: readonly (number | null)[];
}

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

const FRAME: Frame = { width: 880, height: 280, left: 64, right: 16, top: 36, bottom: 40 };
const plotWidth = (f: Frame): number => f.width - f.left - f.right;
const plotHeight = (f: Frame): number => f.height - f.top - f.bottom;

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const fmt = (n: number): string => (Math.round(n * 10) / 10).toString();

/** Round tick values covering [0, max]. */
function linearTicks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const rough = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? rough;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(6)));
  return ticks;
}

function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e += 1)
    ticks.push(10 ** e);
  return ticks;
}

function formatTick(value: number, unit: string): string {
  if (unit === 'ms' && value >= 1000) return `${fmt(value / 1000)}s`;
  if (value > 0 && value < 1) return `${Number(value.toPrecision(2))}${unit}`;
  return `${fmt(value)}${unit}`;
}

function legend(series: readonly { name: string; color: string }[], f: Frame): string {
  let x = f.left;
  return series
    .map((s) => {
      const item =
        `<g class="legend-item"><path d="M${x} 16h14v8h-14z" fill="${s.color}"/>` +
        `<text x="${x + 19}" y="24">${escapeXml(s.name)}</text></g>`;
      x += 30 + s.name.length * 7;
      return item;
    })
    .join('');
}

function svgOpen(title: string, f: Frame): string {
  return (
    `<svg class="chart" role="img" aria-label="${escapeXml(title)}" viewBox="0 0 ${f.width} ${f.height}" ` +
    `width="${f.width}" height="${f.height}" xmlns="http://www.w3.org/2000/svg">` +
    `<title>${escapeXml(title)}</title>`
  );
}

function xAxis(count: number, f: Frame, label: string, tickLabel: (i: number) => string): string {
  const step = Math.max(1, Math.ceil(count / 12));
  const parts: string[] = [];
  for (let i = 0; i < count; i += step) {
    const x = f.left + ((i + 0.5) * plotWidth(f)) / count;
    parts.push(
      `<text class="tick" x="${fmt(x)}" y="${f.height - f.bottom + 15}" text-anchor="middle">${escapeXml(tickLabel(i))}</text>`,
    );
  }
  parts.push(
    `<text class="axis-label" x="${f.left + plotWidth(f) / 2}" y="${f.height - 4}" text-anchor="middle">${escapeXml(label)}</text>`,
  );
  return parts.join('');
}

function yAxis(
  ticks: readonly number[],
  y: (v: number) => number,
  f: Frame,
  unit: string,
  label: string,
): string {
  const parts = ticks.map(
    (t) =>
      `<path class="grid" d="M${f.left} ${fmt(y(t))}h${plotWidth(f)}"/>` +
      `<text class="tick" x="${f.left - 6}" y="${fmt(y(t) + 4)}" text-anchor="end">${escapeXml(formatTick(t, unit))}</text>`,
  );
  parts.push(
    `<text class="axis-label" transform="translate(14 ${f.top + plotHeight(f) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(label)}</text>`,
  );
  parts.push(`<path class="axis" d="M${f.left} ${f.top}v${plotHeight(f)}h${plotWidth(f)}"/>`);
  return parts.join('');
}

function emptyNote(f: Frame, text: string): string {
  return `<text class="empty" x="${f.left + plotWidth(f) / 2}" y="${f.top + plotHeight(f) / 2}" text-anchor="middle">${escapeXml(text)}</text>`;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  unit: string;
  scale: 'linear' | 'log';
  /** x tick labels, one per value index. */
  xTick: (index: number) => string;
  series: readonly Series[];
}

/** One line per series over the same x positions (one per second). */
export function lineChart(options: LineChartOptions): string {
  const f = FRAME;
  const count = Math.max(0, ...options.series.map((s) => s.values.length));
  const all = options.series.flatMap((s) =>
    s.values.filter((v): v is number => v !== null && Number.isFinite(v)),
  );
  const parts = [svgOpen(options.title, f), legend(options.series, f)];
  if (count === 0 || all.length === 0) {
    parts.push(
      yAxis([0, 1], () => f.top + plotHeight(f), f, options.unit, options.yLabel),
      emptyNote(f, 'no data'),
      '</svg>',
    );
    return parts.join('');
  }
  let y: (v: number) => number;
  let ticks: number[];
  if (options.scale === 'log') {
    const positive = all.filter((v) => v > 0);
    const min = Math.max(1e-3, Math.min(...positive, 1));
    const max = Math.max(...positive, min * 10);
    ticks = logTicks(min, max);
    const lo = Math.log10(ticks[0]!);
    const hi = Math.log10(ticks.at(-1)!);
    y = (v) =>
      f.top +
      plotHeight(f) * (1 - (Math.log10(Math.max(v, ticks[0]!)) - lo) / Math.max(1e-9, hi - lo));
  } else {
    ticks = linearTicks(Math.max(...all));
    const top = ticks.at(-1)!;
    y = (v) => f.top + plotHeight(f) * (1 - v / top);
  }
  parts.push(yAxis(ticks, y, f, options.unit, options.yLabel));
  parts.push(xAxis(count, f, options.xLabel, options.xTick));
  for (const s of options.series) {
    let d = '';
    let penDown = false;
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) {
        penDown = false;
        return;
      }
      const x = f.left + ((i + 0.5) * plotWidth(f)) / count;
      d += `${penDown ? 'L' : 'M'}${fmt(x)} ${fmt(y(v))}`;
      penDown = true;
      // A lone point still needs a visible mark.
      if (count === 1) d += `h0.01`;
    });
    if (d !== '') {
      parts.push(
        `<path class="data line" d="${d}" fill="none" stroke="${s.color}" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"><title>${escapeXml(s.name)}</title></path>`,
      );
    }
  }
  parts.push('</svg>');
  return parts.join('');
}

export interface BarChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  unit: string;
  xTick: (index: number) => string;
  /** Stacked in this order, bottom first. */
  series: readonly Series[];
  /** Vertical markers, e.g. percentiles on a distribution; `at` is a fractional x index. */
  markers?: readonly { at: number; label: string; color: string }[];
}

/** Stacked bars, one bar per x index; each series is one <path> of rectangles. */
export function stackedBarChart(options: BarChartOptions): string {
  const f = FRAME;
  const count = Math.max(0, ...options.series.map((s) => s.values.length));
  const totals = Array.from({ length: count }, (_, i) =>
    options.series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0),
  );
  const parts = [svgOpen(options.title, f), legend(options.series, f)];
  const maxTotal = Math.max(0, ...totals);
  if (count === 0 || maxTotal === 0) {
    parts.push(
      yAxis([0, 1], () => f.top + plotHeight(f), f, options.unit, options.yLabel),
      emptyNote(f, 'no data'),
      '</svg>',
    );
    return parts.join('');
  }
  const ticks = linearTicks(maxTotal);
  const top = ticks.at(-1)!;
  const y = (v: number): number => f.top + plotHeight(f) * (1 - v / top);
  parts.push(yAxis(ticks, y, f, options.unit, options.yLabel));
  parts.push(xAxis(count, f, options.xLabel, options.xTick));
  const slot = plotWidth(f) / count;
  const barWidth = Math.max(1, slot * 0.8);
  const base = new Array<number>(count).fill(0);
  for (const s of options.series) {
    let d = '';
    for (let i = 0; i < count; i += 1) {
      const v = s.values[i] ?? 0;
      if (!(v > 0)) continue;
      const x = f.left + i * slot + (slot - barWidth) / 2;
      const y0 = y(base[i]!);
      const y1 = y(base[i]! + v);
      d += `M${fmt(x)} ${fmt(y0)}V${fmt(y1)}h${fmt(barWidth)}V${fmt(y0)}z`;
      base[i]! += v;
    }
    if (d !== '')
      parts.push(
        `<path class="data bar" d="${d}" fill="${s.color}"><title>${escapeXml(s.name)}</title></path>`,
      );
  }
  (options.markers ?? []).forEach((marker, i) => {
    const x = f.left + marker.at * slot;
    // Labels step down so close markers (p99 next to p99.9) stay readable; near the right edge
    // they go to the left of their line.
    const nearEdge = x > f.width - f.right - 40;
    parts.push(
      `<path class="marker" d="M${fmt(x)} ${f.top}v${plotHeight(f)}" stroke="${marker.color}" stroke-dasharray="4 3"/>` +
        `<text class="marker-label" x="${fmt(nearEdge ? x - 3 : x + 3)}" y="${f.top + 10 + i * 13}" fill="${marker.color}"` +
        `${nearEdge ? ' text-anchor="end"' : ''}>${escapeXml(marker.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

export interface TimelineSegment {
  fromMs: number;
  toMs: number;
  state: string;
}

/** A state band over time: one coloured segment per period in a state, with transition ticks. */
export function timelineChart(options: {
  title: string;
  totalMs: number;
  segments: readonly TimelineSegment[];
  colors: Record<string, string>;
  emptyText: string;
}): string {
  const f: Frame = { ...FRAME, height: 130, bottom: 40 };
  const states = [...new Set(options.segments.map((s) => s.state))];
  const parts = [
    svgOpen(options.title, f),
    legend(
      states.map((s) => ({ name: s, color: options.colors[s] ?? '#999' })),
      f,
    ),
  ];
  const total = Math.max(1, options.totalMs);
  const x = (ms: number): number =>
    f.left + (Math.min(Math.max(ms, 0), total) / total) * plotWidth(f);
  const bandTop = f.top + 8;
  const bandHeight = plotHeight(f) - 16;
  parts.push(`<path class="axis" d="M${f.left} ${f.top + plotHeight(f)}h${plotWidth(f)}"/>`);
  const seconds = Math.ceil(total / 1000);
  const step = Math.max(1, Math.ceil(seconds / 12));
  for (let s = 0; s <= seconds; s += step) {
    parts.push(
      `<text class="tick" x="${fmt(x(s * 1000))}" y="${f.height - f.bottom + 15}" text-anchor="middle">${s}s</text>`,
    );
  }
  parts.push(
    `<text class="axis-label" x="${f.left + plotWidth(f) / 2}" y="${f.height - 4}" text-anchor="middle">time since the start of the measured time</text>`,
  );
  if (options.segments.length === 0) {
    parts.push(
      `<path class="data band" d="M${f.left} ${bandTop}h${plotWidth(f)}v${bandHeight}h${-plotWidth(f)}z" fill="#eceff1"/>`,
      `<text class="empty" x="${f.left + plotWidth(f) / 2}" y="${bandTop + bandHeight / 2 + 4}" text-anchor="middle">${escapeXml(options.emptyText)}</text>`,
    );
  }
  for (const segment of options.segments) {
    const x0 = x(segment.fromMs);
    const width = Math.max(1, x(segment.toMs) - x0);
    parts.push(
      `<path class="data band" d="M${fmt(x0)} ${bandTop}h${fmt(width)}v${bandHeight}h${fmt(-width)}z" fill="${options.colors[segment.state] ?? '#999'}">` +
        `<title>${escapeXml(`${segment.state} ${fmt(segment.fromMs)}–${fmt(segment.toMs)} ms`)}</title></path>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}
