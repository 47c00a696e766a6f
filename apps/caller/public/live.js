// The live traffic view's logic, without the DOM: the settings a person may pick (bounded), which
// calls carry a fault, and the per-second figures (latency percentiles, outcomes, who answered).
// app.js sends the calls and live-view.js draws what this keeps.

/** Bounds of the live view's settings: the browser never sends more than this. */
export const LIMITS = Object.freeze({
  rate: { min: 1, max: 100 },
  durationSeconds: { min: 1, max: 600 },
  share: { min: 0, max: 100 },
  delayMs: { min: 0, max: 30_000 },
  responseCode: { min: 200, max: 599 },
  /** Calls the page keeps in flight at most; beyond it a call is skipped, never queued. */
  maxInFlight: 200,
});

/** How many seconds the charts show. */
export const WINDOW_SECONDS = 60;

/** Outcomes in the order the charts stack them; `error` is the browser's own (network, problem). */
export const LIVE_OUTCOMES = [
  'ok',
  'upstream_error',
  'timeout',
  'unreachable',
  'circuit_open',
  'overloaded',
  'error',
];

/** Calls that never left the caller: out of the latency figures, as in its metrics. */
const REFUSED = new Set(['circuit_open', 'overloaded']);

/**
 * @typedef {object} LiveSettings
 * @property {number} rate calls per second
 * @property {number} durationSeconds
 * @property {number} delayShare 0–100, % of calls with `delay`
 * @property {number} delayMs
 * @property {number} errorShare 0–100, % of calls with `responseCode`
 * @property {number} responseCode
 */

/**
 * Checks the settings; returns the first problem as `{ field, message }`, or null.
 * @param {Record<string, unknown>} settings
 * @returns {{ field: string, message: string } | null}
 */
export function checkLiveSettings(settings) {
  /** @type {Array<[string, {min: number, max: number}, string]>} */
  const rules = [
    ['rate', LIMITS.rate, 'Rate'],
    ['durationSeconds', LIMITS.durationSeconds, 'Duration'],
    ['delayShare', LIMITS.share, 'Delayed share'],
    ['delayMs', LIMITS.delayMs, 'Delayed by'],
    ['errorShare', LIMITS.share, 'Error share'],
    ['responseCode', LIMITS.responseCode, 'Their status code'],
  ];
  for (const [field, { min, max }, label] of rules) {
    const value = settings[field];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      return { field, message: `${label} must be a whole number from ${min} to ${max}.` };
    }
  }
  return null;
}

/**
 * Which calls carry a fault: spread evenly (an accumulator, not dice), so 20 % means exactly one
 * call in five, and the first seconds already show the mix picked.
 * @param {LiveSettings} settings
 */
export function faultPlan(settings) {
  let delayDebt = 0;
  let errorDebt = 0;
  return {
    /** @returns {{ delay: number, responseCode: number }} the fault knobs of the next call */
    next() {
      delayDebt += settings.delayShare / 100;
      errorDebt += settings.errorShare / 100;
      let delay = 0;
      let responseCode = 200;
      if (delayDebt >= 1 - 1e-9) {
        delayDebt -= 1;
        delay = settings.delayMs;
      }
      if (errorDebt >= 1 - 1e-9) {
        errorDebt -= 1;
        responseCode = settings.responseCode;
      }
      return { delay, responseCode };
    },
  };
}

/**
 * The p-th percentile (0–100) of sorted values, nearest rank; undefined when empty.
 * @param {number[]} sorted ascending
 * @param {number} p
 * @returns {number | undefined}
 */
export function percentile(sorted, p) {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/**
 * "cluster / pod" of the producer that answered, from the envelope's producerMetadata.
 * @param {unknown} metadata
 * @returns {{ cluster: string, pod: string } | null}
 */
export function replicaOf(metadata) {
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) return null;
  const record = /** @type {Record<string, unknown>} */ (metadata);
  const pick = (/** @type {string[]} */ keys) => {
    for (const key of keys) {
      const value = record[key];
      if (typeof value === 'string' && value !== '') return value;
    }
    return '?';
  };
  return {
    cluster: pick(['clusterName', 'cluster_name', 'cluster']),
    pod: pick(['podName', 'pod_name', 'pod', 'hostname']),
  };
}

/**
 * @typedef {object} CallRecord
 * @property {number} atMs when the answer came, ms since the run started
 * @property {string} outcome an envelope outcome, or 'error'
 * @property {number | undefined} latencyMs the caller's round-trip time to the producer
 * @property {{ cluster: string, pod: string } | null} replica who answered, when someone did
 */

/**
 * @typedef {object} SecondFigures
 * @property {number} second since the run started
 * @property {number} calls answers that came in this second
 * @property {Record<string, number>} outcomes
 * @property {number | undefined} p50
 * @property {number | undefined} p90
 * @property {number | undefined} p99
 */

/** The figures of one run, second by second, and per replica over the whole run. */
export class LiveStats {
  constructor() {
    /** @type {Map<number, { outcomes: Record<string, number>, latencies: number[] }>} */
    this.seconds = new Map();
    /** @type {Map<string, { cluster: string, pod: string, calls: number, ok: number, perSecond: Map<number, number> }>} */
    this.replicas = new Map();
    this.sent = 0;
    this.skipped = 0;
    this.completed = 0;
    /** @type {Record<string, number>} */
    this.totals = Object.fromEntries(LIVE_OUTCOMES.map((o) => [o, 0]));
  }

  /** @param {CallRecord} call */
  record(call) {
    const second = Math.max(0, Math.floor(call.atMs / 1000));
    let bucket = this.seconds.get(second);
    if (!bucket) {
      bucket = { outcomes: Object.fromEntries(LIVE_OUTCOMES.map((o) => [o, 0])), latencies: [] };
      this.seconds.set(second, bucket);
    }
    const outcome = LIVE_OUTCOMES.includes(call.outcome) ? call.outcome : 'error';
    bucket.outcomes[outcome] = (bucket.outcomes[outcome] ?? 0) + 1;
    this.totals[outcome] = (this.totals[outcome] ?? 0) + 1;
    this.completed += 1;
    if (!REFUSED.has(outcome) && outcome !== 'error' && typeof call.latencyMs === 'number') {
      bucket.latencies.push(call.latencyMs);
    }
    if (call.replica) {
      const key = `${call.replica.cluster}\u0000${call.replica.pod}`;
      let replica = this.replicas.get(key);
      if (!replica) {
        replica = { ...call.replica, calls: 0, ok: 0, perSecond: new Map() };
        this.replicas.set(key, replica);
      }
      replica.calls += 1;
      if (outcome === 'ok') replica.ok += 1;
      replica.perSecond.set(second, (replica.perSecond.get(second) ?? 0) + 1);
      // Only the last few seconds are ever asked for.
      for (const old of replica.perSecond.keys())
        if (old < second - 5) replica.perSecond.delete(old);
    }
  }

  /**
   * Figures of one second.
   * @param {number} second
   * @returns {SecondFigures}
   */
  figures(second) {
    const bucket = this.seconds.get(second);
    const outcomes = Object.fromEntries(LIVE_OUTCOMES.map((o) => [o, bucket?.outcomes[o] ?? 0]));
    const sorted = [...(bucket?.latencies ?? [])].sort((a, b) => a - b);
    return {
      second,
      calls: Object.values(outcomes).reduce((a, b) => a + b, 0),
      outcomes,
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
    };
  }

  /**
   * The last `count` whole seconds up to `now` (seconds since the start), oldest first.
   * @param {number} now
   * @param {number} [count]
   * @returns {SecondFigures[]}
   */
  window(now, count = WINDOW_SECONDS) {
    const last = Math.floor(now);
    const first = Math.max(0, last - count + 1);
    const out = [];
    for (let second = first; second <= last; second += 1) out.push(this.figures(second));
    return out;
  }

  /**
   * Replicas that answered, most calls first, with their answers in `second`.
   * @param {number} second usually the last whole second
   * @returns {Array<{ cluster: string, pod: string, calls: number, ok: number, recent: number }>}
   */
  replicaSplit(second) {
    return [...this.replicas.values()]
      .map(({ cluster, pod, calls, ok, perSecond }) => ({
        cluster,
        pod,
        calls,
        ok,
        recent: perSecond.get(second) ?? 0,
      }))
      .sort((a, b) => b.calls - a.calls || a.cluster.localeCompare(b.cluster));
  }
}

/**
 * @typedef {object} BreakerSpan
 * @property {string} state
 * @property {number} fromMs ms since the run started (clamped to 0)
 * @property {number} toMs
 */

/**
 * The breaker's states over a run as spans, from the `breaker` events (`at` ISO times).
 * @param {Array<{ state: string, atEpochMs: number }>} events in arrival order
 * @param {number} startEpochMs when the run started
 * @param {number} nowEpochMs
 * @returns {BreakerSpan[]}
 */
export function breakerSpans(events, startEpochMs, nowEpochMs) {
  /** @type {BreakerSpan[]} */
  const spans = [];
  const end = nowEpochMs - startEpochMs;
  let current = null;
  for (const event of events) {
    const at = Math.max(0, event.atEpochMs - startEpochMs);
    if (at > end) break;
    if (current) {
      current.toMs = Math.max(current.fromMs, at);
      if (current.toMs > current.fromMs || spans.length === 0) spans.push(current);
    }
    current = { state: event.state, fromMs: at, toMs: end };
  }
  if (current) spans.push({ ...current, toMs: end });
  return spans.filter((span) => span.toMs > span.fromMs);
}

/**
 * A trace link from TRACE_URL_TEMPLATE, or null: only http(s) URLs, the id URL-encoded.
 * @param {unknown} template
 * @param {unknown} traceId
 * @param {string} base the page's URL (a relative template resolves against it)
 * @returns {string | null}
 */
export function traceUrl(template, traceId, base) {
  if (typeof template !== 'string' || !template.includes('{traceId}')) return null;
  if (typeof traceId !== 'string' || !/^[0-9a-f]{32}$/.test(traceId)) return null;
  try {
    const url = new URL(template.replaceAll('{traceId}', traceId), base);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}
