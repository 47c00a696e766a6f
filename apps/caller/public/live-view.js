// Draws the live traffic view: charts (SVG built node by node), the topology picture, the
// per-replica split and a per-second table for screen readers. Text from the network goes in
// through textContent only; class names and data-* values come from the fixed lists in live.js.
import { LIVE_OUTCOMES } from './live.js';
import { breakerKey, breakerLabel, formatMs } from './render.js';

// The SVG namespace is a name, not a resource: nothing is fetched from it (test/ui/static-files
// allows exactly this URI).
const SVG_NS = 'http://www.w3.org/2000/svg';

/** Outcome names as the legend and the table show them. */
export const OUTCOME_LABELS = {
  ok: 'ok',
  upstream_error: 'upstream error',
  timeout: 'timeout',
  unreachable: 'unreachable',
  circuit_open: 'breaker open (not sent)',
  overloaded: 'overloaded (not sent)',
  error: 'browser-side error',
};

/**
 * @param {string} tag
 * @param {Record<string, string | number>} [attributes] names are ours, never data
 * @param {string} [text]
 * @returns {SVGElement}
 */
function svg(tag, attributes = {}, text) {
  const node = /** @type {SVGElement} */ (document.createElementNS(SVG_NS, tag));
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * @param {string} tag
 * @param {string | null} [className]
 * @param {string | null} [text]
 * @returns {HTMLElement}
 */
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

const CHART = { width: 600, height: 170, left: 64, right: 14, top: 12, bottom: 24 };

/**
 * A chart frame: the svg, its plot area and x scale over the window's seconds.
 * @param {string} label what the chart shows, for screen readers
 * @param {number} firstSecond
 * @param {number} seconds how many seconds the x axis spans
 */
function frame(label, firstSecond, seconds) {
  const root = svg('svg', {
    viewBox: `0 0 ${CHART.width} ${CHART.height}`,
    role: 'img',
    'aria-label': label,
    class: 'chart',
    preserveAspectRatio: 'xMidYMid meet',
  });
  const plotWidth = CHART.width - CHART.left - CHART.right;
  const plotHeight = CHART.height - CHART.top - CHART.bottom;
  const x = (/** @type {number} */ second) =>
    CHART.left + ((second - firstSecond) / seconds) * plotWidth;
  root.append(
    svg('line', {
      x1: CHART.left,
      x2: CHART.left + plotWidth,
      y1: CHART.top + plotHeight,
      y2: CHART.top + plotHeight,
      class: 'axis',
    }),
  );
  for (let second = firstSecond; second <= firstSecond + seconds; second += 10) {
    root.append(
      svg(
        'text',
        { x: x(second), y: CHART.height - 6, class: 'tick', 'text-anchor': 'middle' },
        `${second}s`,
      ),
    );
  }
  return { root, x, plotWidth, plotHeight };
}

/**
 * @param {SVGElement} root
 * @param {number} max
 * @param {number} plotHeight
 * @param {(v: number) => string} format
 */
function yTicks(root, max, plotHeight, format) {
  for (const fraction of [0, 0.5, 1]) {
    const y = CHART.top + plotHeight * (1 - fraction);
    root.append(
      svg('line', { x1: CHART.left, x2: CHART.width - CHART.right, y1: y, y2: y, class: 'grid' }),
      svg(
        'text',
        { x: CHART.left - 4, y: y + 4, class: 'tick', 'text-anchor': 'end' },
        format(max * fraction),
      ),
    );
  }
}

/** A round upper bound for an axis: 1, 2, 5 × 10^n. */
function niceMax(/** @type {number} */ value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

/**
 * Outcomes per second as stacked bars.
 * @param {import('./live.js').SecondFigures[]} window oldest first
 * @param {number} seconds span of the x axis
 * @returns {SVGElement}
 */
export function renderOutcomeChart(window, seconds) {
  const first = window[0]?.second ?? 0;
  const last = window.at(-1);
  const summary = last
    ? `Outcomes per second, last ${window.length} s. Latest second: ${describeOutcomes(last.outcomes)}.`
    : 'Outcomes per second: no calls yet.';
  const { root, x, plotWidth, plotHeight } = frame(summary, first, seconds);
  const max = niceMax(Math.max(1, ...window.map((s) => s.calls)));
  yTicks(root, max, plotHeight, (v) => String(Math.round(v)));
  const barWidth = Math.max(1, plotWidth / seconds - 1);
  for (const figures of window) {
    let base = CHART.top + plotHeight;
    for (const outcome of LIVE_OUTCOMES) {
      const count = figures.outcomes[outcome] ?? 0;
      if (count === 0) continue;
      const height = (count / max) * plotHeight;
      base -= height;
      root.append(
        svg('rect', {
          x: x(figures.second),
          y: base,
          width: barWidth,
          height,
          class: `bar outcome-${outcome}`,
        }),
      );
    }
  }
  return root;
}

/**
 * Latency percentiles per second as lines (calls sent only).
 * @param {import('./live.js').SecondFigures[]} window
 * @param {number} seconds
 * @returns {SVGElement}
 */
export function renderLatencyChart(window, seconds) {
  const first = window[0]?.second ?? 0;
  const last = [...window].reverse().find((s) => s.p50 !== undefined);
  const summary = last
    ? `Latency of calls sent, per second. Second ${last.second}: p50 ${formatMs(last.p50)}, p90 ${formatMs(last.p90)}, p99 ${formatMs(last.p99)}.`
    : 'Latency of calls sent: no answered call yet.';
  const { root, x, plotHeight } = frame(summary, first, seconds);
  const max = niceMax(Math.max(1, ...window.map((s) => s.p99 ?? 0)));
  yTicks(root, max, plotHeight, (v) =>
    v >= 1000 ? `${(v / 1000).toFixed(1)}s` : `${Math.round(v)}ms`,
  );
  // One polyline per run of consecutive seconds with data: a gap (nothing sent, e.g. the
  // breaker open) stays a gap instead of a straight line across it.
  for (const key of /** @type {const} */ (['p50', 'p90', 'p99'])) {
    /** @type {string[][]} */
    const runs = [];
    let previous = Number.NaN;
    for (const figures of window) {
      const value = figures[key];
      if (value === undefined) continue;
      const point = `${x(figures.second + 0.5).toFixed(1)},${(CHART.top + plotHeight * (1 - value / max)).toFixed(1)}`;
      if (figures.second === previous + 1) runs.at(-1)?.push(point);
      else runs.push([point]);
      previous = figures.second;
    }
    for (const points of runs) {
      // A lone second is drawn as a short tick so it is still visible.
      const drawn = points.length === 1 ? [points[0], points[0]] : points;
      root.append(svg('polyline', { points: drawn.join(' '), class: `line ${key}` }));
    }
  }
  return root;
}

/**
 * The breaker's state over the same seconds, as coloured bands.
 * @param {import('./live.js').BreakerSpan[]} spans
 * @param {number} firstSecond
 * @param {number} seconds
 * @returns {SVGElement}
 */
export function renderBreakerStrip(spans, firstSecond, seconds) {
  const height = 34;
  const plotWidth = CHART.width - CHART.left - CHART.right;
  const visible = spans.filter((span) => span.toMs / 1000 > firstSecond);
  const words = visible.map(
    (span) =>
      `${breakerLabel(span.state)} from ${Math.max(firstSecond, span.fromMs / 1000).toFixed(1)} s`,
  );
  const root = svg('svg', {
    viewBox: `0 0 ${CHART.width} ${height}`,
    role: 'img',
    'aria-label': visible.length
      ? `Circuit breaker over time: ${words.join(', ')}.`
      : 'Circuit breaker over time: not known yet.',
    class: 'chart strip',
  });
  root.append(
    svg(
      'text',
      { x: CHART.left - 4, y: 21, class: 'strip-label', 'text-anchor': 'end' },
      'breaker',
    ),
  );
  const x = (/** @type {number} */ s) =>
    CHART.left + Math.min(1, Math.max(0, (s - firstSecond) / seconds)) * plotWidth;
  for (const span of visible) {
    const from = x(span.fromMs / 1000);
    const to = x(span.toMs / 1000);
    root.append(
      svg('rect', {
        x: from,
        y: 6,
        width: Math.max(1.5, to - from),
        height: 22,
        class: `band state-${breakerKey(span.state)}`,
      }),
    );
  }
  return root;
}

/**
 * @param {Record<string, number>} outcomes
 * @returns {string}
 */
export function describeOutcomes(outcomes) {
  const parts = LIVE_OUTCOMES.filter((o) => (outcomes[o] ?? 0) > 0).map(
    (o) => `${outcomes[o]} ${OUTCOME_LABELS[/** @type {keyof typeof OUTCOME_LABELS} */ (o)]}`,
  );
  return parts.length ? parts.join(', ') : 'none';
}

/** The legend of the outcome chart (colours are CSS, names are ours). */
export function renderLegend() {
  const list = el('ul', 'legend');
  for (const outcome of LIVE_OUTCOMES) {
    const item = el('li');
    const swatch = el('span', `swatch outcome-${outcome}`);
    swatch.setAttribute('aria-hidden', 'true');
    item.append(
      swatch,
      document.createTextNode(OUTCOME_LABELS[/** @type {keyof typeof OUTCOME_LABELS} */ (outcome)]),
    );
    list.append(item);
  }
  return list;
}

/**
 * Rows of the per-replica split: who answered, how many, their share.
 * @param {ReturnType<import('./live.js').LiveStats['replicaSplit']>} split
 * @returns {HTMLTableRowElement[]}
 */
export function renderReplicaRows(split) {
  const total = split.reduce((sum, r) => sum + r.calls, 0);
  return split.map((replica) => {
    const row = /** @type {HTMLTableRowElement} */ (el('tr'));
    const share = total > 0 ? `${Math.round((replica.calls / total) * 100)} %` : '—';
    const recent = String(replica.recent);
    for (const [text, className] of [
      [replica.cluster, null],
      [replica.pod, null],
      [String(replica.calls), 'num'],
      [share, 'num'],
      [recent, 'num'],
    ]) {
      row.append(el('td', className, text));
    }
    return row;
  });
}

/**
 * The last seconds as table rows (the charts' data, readable without them).
 * @param {import('./live.js').SecondFigures[]} seconds newest first
 * @returns {HTMLTableRowElement[]}
 */
export function renderSecondRows(seconds) {
  return seconds.map((figures) => {
    const row = /** @type {HTMLTableRowElement} */ (el('tr'));
    const failed = figures.calls - (figures.outcomes.ok ?? 0);
    for (const [text, className] of [
      [`${figures.second}`, 'num'],
      [String(figures.calls), 'num'],
      [String(figures.outcomes.ok ?? 0), 'num'],
      [String(failed), 'num'],
      [formatMs(figures.p50), 'num'],
      [formatMs(figures.p99), 'num'],
    ]) {
      row.append(el('td', className, text));
    }
    return row;
  });
}

/**
 * @typedef {object} TopologyState
 * @property {string} callerCluster from the envelopes' callerMetadata
 * @property {boolean | null} viaGateway null until a call told
 * @property {unknown} breakerState
 * @property {Array<{ cluster: string, pod: string, recent: number }>} replicas
 * @property {Record<string, number>} lastSecond outcomes of the latest whole second
 * @property {boolean} browserErrors the browser could not reach the caller lately
 */

const NODE = { width: 104, height: 48 };
const REPLICA = { width: 128, height: 26, gap: 6 };

/**
 * The picture: browser → gateway → caller → link → producer replicas per cluster, with where
 * the latest second's calls went and where they failed. Left to right; top to bottom when
 * `narrow` (a phone), so its text stays readable.
 * @param {TopologyState} state
 * @param {boolean} [narrow]
 * @returns {SVGElement}
 */
export function renderTopology(state, narrow = false) {
  /** @type {Map<string, Array<{ cluster: string, pod: string, recent: number }>>} */
  const clusters = new Map();
  for (const replica of state.replicas) {
    const pods = clusters.get(replica.cluster) ?? [];
    pods.push(replica);
    clusters.set(replica.cluster, pods);
  }
  const clusterList = [...clusters.entries()].slice(0, 4);
  const out = state.lastSecond;
  const sent =
    (out.ok ?? 0) + (out.upstream_error ?? 0) + (out.timeout ?? 0) + (out.unreachable ?? 0);
  const linkFailures = (out.timeout ?? 0) + (out.unreachable ?? 0);
  const refused = (out.circuit_open ?? 0) + (out.overloaded ?? 0);
  const breaker = breakerKey(state.breakerState);
  const gatewayWords =
    state.viaGateway === null ? 'gateway?' : state.viaGateway ? 'gateway' : 'no gateway';
  const replicaWords = state.replicas.length
    ? state.replicas
        .map((r) => `${r.pod} in ${r.cluster}: ${r.recent} in the last second`)
        .join('; ')
    : 'no producer replica has answered yet';

  // Where things go. Horizontal: nodes on one row, replicas in a column on the right.
  // Narrow: nodes in a column on the left, replicas in a column on the right, lower down.
  const nodes = narrow
    ? [
        { x: 8, y: 8 },
        { x: 8, y: 76 },
        { x: 8, y: 144 },
      ]
    : [
        { x: 0, y: 36 },
        { x: 124, y: 36 },
        { x: 248, y: 36 },
      ];
  const callerNode = /** @type {{ x: number, y: number }} */ (nodes[2]);
  const linkFrom = { x: callerNode.x + NODE.width, y: callerNode.y + NODE.height / 2 };
  const right = narrow ? 196 : 470;
  const labelAt = {
    x: (linkFrom.x + right) / 2,
    y: narrow ? callerNode.y - 30 : 24,
  };
  let y = narrow ? 150 : 20;
  const rowsNeeded = clusterList.reduce((n, [, pods]) => n + Math.min(pods.length, 4), 0);
  const width = narrow ? 340 : 600;
  const height = Math.max(
    narrow ? 214 : 130,
    y + rowsNeeded * (REPLICA.height + REPLICA.gap) + clusterList.length * 26 + 10,
  );

  const root = svg('svg', {
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    class: `topology${narrow ? ' narrow' : ''}`,
    'aria-label':
      `Topology: browser, ${gatewayWords}, caller in ${state.callerCluster || 'its cluster'} ` +
      `(breaker ${breakerLabel(state.breakerState)}), link to the producer: ` +
      `last second ${sent} sent, ${linkFailures} failed on the link, ${refused} refused by the caller. ` +
      `Producers: ${replicaWords}.`,
  });
  /** @param {number} x1 @param {number} y1 @param {number} x2 @param {number} y2 @param {string} cls */
  const edge = (x1, y1, x2, y2, cls) =>
    root.append(svg('line', { x1, x2, y1, y2, class: `edge ${cls}` }));
  /** @param {number} i @param {string} title @param {string} sub @param {string} cls */
  const node = (i, title, sub, cls) => {
    const at = /** @type {{ x: number, y: number }} */ (nodes[i]);
    const group = svg('g', { class: `node ${cls}` });
    group.append(
      svg('rect', { x: at.x, y: at.y, width: NODE.width, height: NODE.height, rx: 8 }),
      svg(
        'text',
        { x: at.x + NODE.width / 2, y: at.y + 20, 'text-anchor': 'middle', class: 'node-title' },
        title,
      ),
      svg(
        'text',
        { x: at.x + NODE.width / 2, y: at.y + 37, 'text-anchor': 'middle', class: 'node-sub' },
        sub,
      ),
    );
    root.append(group);
  };

  // Browser → gateway → caller.
  const reachClass = state.browserErrors ? 'bad' : 'ok';
  for (let i = 0; i < 2; i += 1) {
    const a = /** @type {{ x: number, y: number }} */ (nodes[i]);
    const b = /** @type {{ x: number, y: number }} */ (nodes[i + 1]);
    if (narrow)
      edge(a.x + NODE.width / 2, a.y + NODE.height, b.x + NODE.width / 2, b.y, reachClass);
    else edge(a.x + NODE.width, a.y + NODE.height / 2, b.x, b.y + NODE.height / 2, reachClass);
  }
  node(0, 'browser', 'this page', 'neutral');
  node(
    1,
    gatewayWords,
    state.viaGateway ? 'ingress' : '—',
    state.viaGateway === false ? 'muted' : 'neutral',
  );
  node(2, 'caller', truncate(state.callerCluster || 'cluster-1', 16), `breaker-${breaker}`);

  // The link: the breaker sits on the caller's way out.
  const linkClass =
    breaker === 'open' ? 'bad cut' : linkFailures > 0 ? 'bad' : sent > 0 ? 'ok' : 'idle';
  const label = (/** @type {number} */ dy, /** @type {string} */ text, cls = '') =>
    root.append(
      svg(
        'text',
        { x: labelAt.x, y: labelAt.y + dy, 'text-anchor': 'middle', class: `edge-label ${cls}` },
        text,
      ),
    );
  if (breaker === 'open') {
    label(0, 'breaker open', 'bad-text');
    label(14, `${refused}/s refused`, 'bad-text');
  } else {
    label(0, `${sent}/s sent`);
  }
  if (linkFailures > 0) label(breaker === 'open' ? 28 : 14, `${linkFailures}/s failed`, 'bad-text');

  if (clusterList.length === 0) {
    edge(linkFrom.x, linkFrom.y, right, y + 13, linkClass);
    root.append(
      svg('text', { x: right + 4, y: y + 10, class: 'node-sub' }, 'producers:'),
      svg('text', { x: right + 4, y: y + 24, class: 'node-sub' }, 'none answered yet'),
    );
  }
  for (const [cluster, pods] of clusterList) {
    root.append(
      svg('text', { x: right, y: y + 12, class: 'cluster-title' }, truncate(cluster, 18)),
    );
    y += 18;
    for (const pod of pods.slice(0, 4)) {
      const podEdge =
        breaker === 'open' ? 'bad cut' : pod.recent > 0 ? 'ok' : linkFailures > 0 ? 'bad' : 'idle';
      edge(linkFrom.x, linkFrom.y, right, y + REPLICA.height / 2, podEdge);
      const group = svg('g', { class: `replica ${pod.recent > 0 ? 'ok' : 'idle'}` });
      group.append(
        svg('rect', { x: right, y, width: REPLICA.width, height: REPLICA.height, rx: 6 }),
        svg(
          'text',
          { x: right + 6, y: y + 17, class: 'node-sub' },
          `${truncate(pod.pod, 13)} · ${pod.recent}/s`,
        ),
      );
      root.append(group);
      y += REPLICA.height + REPLICA.gap;
    }
    if (pods.length > 4) {
      root.append(
        svg('text', { x: right, y: y + 8, class: 'node-sub' }, `+ ${pods.length - 4} more`),
      );
      y += 14;
    }
    y += 8;
  }
  return root;
}

/**
 * @param {string} text
 * @param {number} max
 */
function truncate(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
