// Wires the form to `POST caller/messages` and keeps the result, breaker badge and history up to
// date. The URL is relative on purpose: the page works behind a gateway under any path prefix.
import {
  LIMITS,
  LiveStats,
  WINDOW_SECONDS,
  breakerSpans,
  checkLiveSettings,
  faultPlan,
  replicaOf,
  traceUrl,
} from './live.js';
import {
  renderBreakerStrip,
  renderLatencyChart,
  renderLegend,
  renderOutcomeChart,
  renderReplicaRows,
  renderSecondRows,
  renderTopology,
} from './live-view.js';
import {
  breakerLabel,
  classifyResponse,
  renderHistoryRows,
  renderNetworkError,
  renderProblem,
  renderResult,
  renderUnexpected,
  shortOutcome,
  updateBreakerBadge,
} from './render.js';

const MESSAGES_URL = 'caller/messages';
// The breaker's true state as Server-Sent Events (docs/contract.md, GET /caller/events).
const EVENTS_URL = 'caller/events';
// { traceUrlTemplate }: TRACE_URL_TEMPLATE of the caller (src/routes/ui.ts).
const UI_CONFIG_URL = 'ui-config.json';
const HISTORY_LIMIT = 20;
// Far above the caller's own producer timeout (3 s by default): only a hung gateway hits it.
const BROWSER_TIMEOUT_MS = 60_000;
// The operator's fault-injection token: sessionStorage, so it lives as long as this tab and is
// never written to disk for other tabs or later visits (docs/contract.md, "Fault knobs").
const FAULT_TOKEN_KEY = 's2s.faultInjectionToken';
const FAULT_TOKEN_HEADER = 'x-fault-injection-token';

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @returns {T}
 */
function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing #${id}`);
  return /** @type {T} */ (node);
}

const form = /** @type {HTMLFormElement} */ (byId('message-form'));
const payloadInput = /** @type {HTMLTextAreaElement} */ (byId('payload'));
const delayInput = /** @type {HTMLInputElement} */ (byId('delay'));
const responseCodeInput = /** @type {HTMLInputElement} */ (byId('responseCode'));
const repeatInput = /** @type {HTMLInputElement} */ (byId('repeat'));
const faultTokenInput = /** @type {HTMLInputElement} */ (byId('faultToken'));
const sendButton = /** @type {HTMLButtonElement} */ (byId('send'));
const stopButton = /** @type {HTMLButtonElement} */ (byId('stop'));
const progress = byId('progress');
const result = byId('result');
const breakerBadge = byId('breaker');
const historyBody = /** @type {HTMLTableSectionElement} */ (byId('history').querySelector('tbody'));
const historyEmpty = byId('history-empty');
const clearHistoryButton = byId('clear-history');

/** @type {import('./render.js').HistoryEntry[]} */
let history = [];
/** @type {string | null} TRACE_URL_TEMPLATE, once ui-config.json told */
let traceUrlTemplate = null;
/** True while the event stream is open: then only it moves the badge (an envelope may be late). */
let eventsLive = false;
/** @type {Array<{ state: string, atEpochMs: number }>} breaker events since the page opened */
const breakerEvents = [];
let running = false;
let stopRequested = false;

/** @param {import('./render.js').HistoryEntry} entry */
function addHistory(entry) {
  history = [entry, ...history].slice(0, HISTORY_LIMIT);
  drawHistory();
}

function drawHistory() {
  historyBody.replaceChildren(...renderHistoryRows(history));
  historyEmpty.hidden = history.length > 0;
}

/** @param {HTMLElement} node */
function showResult(node) {
  result.replaceChildren(node);
}

/** Headers of every call to the caller, the fault-injection token when one is set. */
function callHeaders() {
  return {
    'content-type': 'application/json',
    accept: 'application/json, application/problem+json',
    ...(faultTokenInput.value === '' ? {} : { [FAULT_TOKEN_HEADER]: faultTokenInput.value }),
  };
}

/**
 * One call to the caller; never throws.
 * @param {{ payload: string, delay: number, responseCode: number }} body
 */
async function sendOnce(body) {
  const started = performance.now();
  let response;
  let text;
  try {
    response = await fetch(MESSAGES_URL, {
      method: 'POST',
      headers: callHeaders(),
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(BROWSER_TIMEOUT_MS),
    });
    text = await response.text();
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    showResult(renderNetworkError(message));
    addHistory({
      at: Date.now(),
      outcome: 'error',
      label: 'Network error',
      producerStatus: null,
      callerStatus: null,
      latencyMs: performance.now() - started,
      breakerState: undefined,
    });
    return;
  }
  const browserMs = performance.now() - started;
  const answer = classifyResponse(response.status, response.headers.get('content-type'), text);

  if (answer.kind === 'envelope') {
    const envelope = answer.envelope;
    const breakerState = envelope.breaker?.state;
    if (!eventsLive) updateBreakerBadge(breakerBadge, breakerState);
    showResult(
      renderResult(envelope, {
        httpStatus: response.status,
        browserMs,
        traceUrl: traceUrl(traceUrlTemplate, envelope.traceId, document.baseURI),
      }),
    );
    addHistory({
      at: Date.now(),
      outcome: envelope.outcome,
      label: shortOutcome(envelope.outcome, envelope.statusCode),
      producerStatus: envelope.statusCode,
      callerStatus: response.status,
      latencyMs:
        typeof envelope.roundTripTimeMillis === 'number' ? envelope.roundTripTimeMillis : browserMs,
      breakerState,
    });
  } else if (answer.kind === 'problem') {
    showResult(renderProblem(answer.problem, response.status));
    addHistory({
      at: Date.now(),
      outcome: 'error',
      label: `Refused: ${typeof answer.problem.title === 'string' ? answer.problem.title : 'error'}`,
      producerStatus: null,
      callerStatus: response.status,
      latencyMs: browserMs,
      breakerState: undefined,
    });
  } else {
    showResult(renderUnexpected(response.status, answer.contentType, answer.text));
    addHistory({
      at: Date.now(),
      outcome: 'error',
      label: 'Unexpected answer',
      producerStatus: null,
      callerStatus: response.status,
      latencyMs: browserMs,
      breakerState: undefined,
    });
  }
}

function setRunning(value) {
  running = value;
  sendButton.disabled = value;
  stopButton.disabled = !value;
  form.setAttribute('aria-busy', String(value));
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (running) return;
  // The browser has already checked min/max/required; the caller checks again (problem+json).
  const body = {
    payload: payloadInput.value,
    delay: delayInput.valueAsNumber,
    responseCode: responseCodeInput.valueAsNumber,
  };
  const times = Math.min(20, Math.max(1, repeatInput.valueAsNumber || 1));
  stopRequested = false;
  setRunning(true);
  let sent = 0;
  try {
    while (sent < times && !stopRequested) {
      progress.textContent = times > 1 ? `Sending ${sent + 1} of ${times}…` : 'Sending…';
      await sendOnce(body);
      sent += 1;
    }
    progress.textContent = stopRequested
      ? `Stopped after ${sent} of ${times} calls.`
      : `Done: ${sent} ${sent === 1 ? 'call' : 'calls'}.`;
  } finally {
    setRunning(false);
  }
});

stopButton.addEventListener('click', () => {
  stopRequested = true;
  progress.textContent = 'Stopping after the call in flight…';
});

clearHistoryButton.addEventListener('click', () => {
  history = [];
  drawHistory();
});

/** @returns {Storage | null} null where storage is blocked (privacy settings). */
function tabStorage() {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

faultTokenInput.value = tabStorage()?.getItem(FAULT_TOKEN_KEY) ?? '';
faultTokenInput.addEventListener('input', () => {
  const storage = tabStorage();
  if (faultTokenInput.value === '') storage?.removeItem(FAULT_TOKEN_KEY);
  else storage?.setItem(FAULT_TOKEN_KEY, faultTokenInput.value);
});

drawHistory();

// ---- The breaker's true state: GET caller/events -------------------------------------------

const eventsState = byId('events-state');

/** @param {string} state @param {number} atEpochMs */
function onBreakerState(state, atEpochMs) {
  const previous = breakerEvents.at(-1)?.state;
  breakerEvents.push({ state, atEpochMs });
  if (breakerEvents.length > 2000) breakerEvents.splice(0, breakerEvents.length - 2000);
  updateBreakerBadge(breakerBadge, state);
  if (previous !== undefined && previous !== state) {
    // The badge is a status region: a screen reader hears each change once, without a click.
    eventsState.textContent = `Breaker ${breakerLabel(state)} since ${new Date(atEpochMs).toLocaleTimeString()}.`;
  }
  drawLive();
}

function followBreakerEvents() {
  if (typeof EventSource !== 'function') {
    eventsState.textContent = 'Breaker events: not supported by this browser.';
    return;
  }
  const source = new EventSource(EVENTS_URL);
  source.addEventListener('open', () => {
    eventsLive = true;
    eventsState.textContent = 'Breaker events: live.';
  });
  source.addEventListener('breaker', (event) => {
    let data;
    try {
      data = JSON.parse(/** @type {MessageEvent<string>} */ (event).data);
    } catch {
      return;
    }
    if (data === null || typeof data !== 'object' || typeof data.state !== 'string') return;
    const at = Date.parse(data.at);
    onBreakerState(data.state, Number.isFinite(at) ? at : Date.now());
  });
  source.addEventListener('error', () => {
    eventsLive = false;
    // EventSource reconnects by itself (the server's retry: 2000), unless the answer was not a
    // stream at all; then it has given up.
    eventsState.textContent =
      source.readyState === EventSource.CLOSED
        ? 'Breaker events: not available here; the badge shows the state of the last call.'
        : 'Breaker events: reconnecting…';
    if (source.readyState === EventSource.CLOSED) source.close();
  });
}

async function loadUiConfig() {
  try {
    const response = await fetch(UI_CONFIG_URL, { headers: { accept: 'application/json' } });
    if (!response.ok) return;
    const config = await response.json();
    if (config && typeof config.traceUrlTemplate === 'string') {
      traceUrlTemplate = config.traceUrlTemplate;
    }
  } catch {
    // No config: trace ids stay plain text.
  }
}

// ---- Live traffic ---------------------------------------------------------------------------

const liveForm = /** @type {HTMLFormElement} */ (byId('live-form'));
const liveStart = /** @type {HTMLButtonElement} */ (byId('live-start'));
const liveStop = /** @type {HTMLButtonElement} */ (byId('live-stop'));
const liveStatus = byId('live-status');
const liveSummary = byId('live-summary');
const liveTopology = byId('live-topology');
const liveOutcomes = byId('live-outcomes');
const liveBreakerStrip = byId('live-breaker-strip');
const liveLatency = byId('live-latency');
const liveReplicas = /** @type {HTMLTableSectionElement} */ (
  byId('live-replicas').querySelector('tbody')
);
const liveReplicasEmpty = byId('live-replicas-empty');
const liveSeconds = /** @type {HTMLTableSectionElement} */ (
  byId('live-seconds').querySelector('tbody')
);
byId('live-legend').replaceChildren(renderLegend());

/**
 * @typedef {object} LiveRun
 * @property {LiveStats} stats
 * @property {number} startEpochMs
 * @property {number} startPerf
 * @property {number} endPerf
 * @property {number} stoppedPerf
 * @property {import('./live.js').LiveSettings} settings
 * @property {ReturnType<typeof faultPlan>} plan
 * @property {number} inFlight
 * @property {boolean} stopping
 * @property {number | undefined} timer
 * @property {string} callerCluster
 * @property {boolean | null} viaGateway
 * @property {number} lastBrowserErrorMs
 */

/** @type {LiveRun | null} the running (or last) run */
let live = null;

/** @returns {Record<string, unknown>} */
function readLiveSettings() {
  const number = (/** @type {string} */ id) =>
    /** @type {HTMLInputElement} */ (byId(id)).valueAsNumber;
  return {
    rate: number('liveRate'),
    durationSeconds: number('liveDuration'),
    delayShare: number('liveDelayShare'),
    delayMs: number('liveDelayMs'),
    errorShare: number('liveErrorShare'),
    responseCode: number('liveErrorCode'),
  };
}

const LIVE_INPUT_IDS = {
  rate: 'liveRate',
  durationSeconds: 'liveDuration',
  delayShare: 'liveDelayShare',
  delayMs: 'liveDelayMs',
  errorShare: 'liveErrorShare',
  responseCode: 'liveErrorCode',
};

/** Seconds since the run started. */
function liveNow() {
  return live ? (performance.now() - live.startPerf) / 1000 : 0;
}

/**
 * One call of the run; records what came back, never throws.
 * @param {LiveRun} run
 * @param {{ delay: number, responseCode: number }} faults
 * @param {number} index
 */
async function liveCall(run, faults, index) {
  run.inFlight += 1;
  run.stats.sent += 1;
  /** @type {import('./live.js').CallRecord} */
  const record = { atMs: 0, outcome: 'error', latencyMs: undefined, replica: null };
  try {
    const response = await fetch(MESSAGES_URL, {
      method: 'POST',
      headers: callHeaders(),
      body: JSON.stringify({ id: `live-${index}`, payload: 'live', ...faults }),
      signal: AbortSignal.timeout(BROWSER_TIMEOUT_MS),
    });
    const answer = classifyResponse(
      response.status,
      response.headers.get('content-type'),
      await response.text(),
    );
    if (answer.kind === 'envelope') {
      const envelope = answer.envelope;
      record.outcome = typeof envelope.outcome === 'string' ? envelope.outcome : 'error';
      record.latencyMs =
        typeof envelope.roundTripTimeMillis === 'number' ? envelope.roundTripTimeMillis : undefined;
      record.replica = envelope.producerMetadata ? replicaOf(envelope.producerMetadata) : null;
      const callerMetadata = /** @type {Record<string, unknown> | null} */ (
        envelope.callerMetadata
      );
      if (callerMetadata && typeof callerMetadata.clusterName === 'string') {
        run.callerCluster = callerMetadata.clusterName;
      }
      const headers = /** @type {Record<string, unknown> | null} */ (envelope.callerHeaders);
      if (headers && typeof headers === 'object') {
        // An ingress gateway (Envoy) adds these; a direct call to the caller has none.
        run.viaGateway =
          'x-envoy-external-address' in headers ||
          'x-forwarded-for' in headers ||
          'x-envoy-attempt-count' in headers;
      }
    } else {
      run.lastBrowserErrorMs = performance.now();
    }
  } catch {
    run.lastBrowserErrorMs = performance.now();
  } finally {
    run.inFlight -= 1;
    record.atMs = performance.now() - run.startPerf;
    run.stats.record(record);
    drawLive();
  }
}

/** Sends the calls due by now (open model: the schedule, not the answers, sets the pace). */
function liveTick() {
  const run = live;
  if (!run || run.stopping) return;
  const now = performance.now();
  if (now >= run.endPerf) {
    run.stoppedPerf = run.endPerf;
    finishLive(`Done: ${run.stats.sent} calls in ${run.settings.durationSeconds} s.`);
    return;
  }
  const due = Math.floor(((now - run.startPerf) / 1000) * run.settings.rate) + 1;
  while (run.stats.sent + run.stats.skipped < due) {
    const faults = run.plan.next();
    if (run.inFlight >= LIMITS.maxInFlight) {
      run.stats.skipped += 1;
      continue;
    }
    void liveCall(run, faults, run.stats.sent + run.stats.skipped);
  }
}

/** @param {string} message */
function finishLive(message) {
  if (!live) return;
  live.stopping = true;
  clearInterval(live.timer);
  liveStart.disabled = false;
  liveStop.disabled = true;
  liveForm.setAttribute('aria-busy', 'false');
  liveStatus.textContent = message;
  drawLive();
}

/** A phone-width box: the picture is drawn top to bottom so its text stays readable. */
function topologyIsNarrow() {
  return liveTopology.clientWidth > 0 && liveTopology.clientWidth < 480;
}

let drawScheduled = false;
/** Redraws at most once per animation frame. */
function drawLive() {
  if (drawScheduled) return;
  drawScheduled = true;
  requestAnimationFrame(() => {
    drawScheduled = false;
    drawLiveNow();
  });
}

function drawLiveNow() {
  const run = live;
  const nowEpoch = Date.now();
  const state = breakerEvents.at(-1)?.state ?? breakerBadge.dataset.state;
  if (!run) {
    liveTopology.replaceChildren(
      renderTopology(
        {
          callerCluster: '',
          viaGateway: null,
          breakerState: state,
          replicas: [],
          lastSecond: {},
          browserErrors: false,
        },
        topologyIsNarrow(),
      ),
    );
    return;
  }
  const now = run.stopping ? Math.max(0, (run.stoppedPerf - run.startPerf) / 1000) : liveNow();
  const current = Math.floor(now);
  const window = run.stats.window(now, WINDOW_SECONDS);
  const first = window[0]?.second ?? 0;
  // The whole seconds so far; the one in progress is still filling up.
  const complete = window.filter((s) => s.second < current || run.stopping);
  const lastWhole = complete.at(-1);
  liveOutcomes.replaceChildren(renderOutcomeChart(window, WINDOW_SECONDS));
  liveLatency.replaceChildren(renderLatencyChart(complete, WINDOW_SECONDS));
  const spans = breakerSpans(
    breakerEvents,
    run.startEpochMs,
    run.stopping ? run.startEpochMs + now * 1000 : nowEpoch,
  );
  liveBreakerStrip.replaceChildren(renderBreakerStrip(spans, first, WINDOW_SECONDS));
  // The last whole second: the one in progress is still filling up.
  const split = run.stats.replicaSplit(run.stopping ? current : current - 1);
  liveReplicas.replaceChildren(...renderReplicaRows(split));
  liveReplicasEmpty.hidden = split.length > 0;
  liveSeconds.replaceChildren(...renderSecondRows(complete.slice(-10).reverse()));
  liveTopology.replaceChildren(
    renderTopology(
      {
        callerCluster: run.callerCluster,
        viaGateway: run.viaGateway,
        breakerState: state,
        replicas: split,
        lastSecond: lastWhole?.outcomes ?? {},
        browserErrors: performance.now() - run.lastBrowserErrorMs < 2000,
      },
      topologyIsNarrow(),
    ),
  );
  const totals = run.stats.totals;
  const notOk = run.stats.completed - (totals.ok ?? 0);
  liveSummary.textContent =
    `${run.stats.sent} sent, ${run.stats.completed} answered (${totals.ok ?? 0} ok, ${notOk} not ok), ` +
    `${run.inFlight} in flight` +
    (run.stats.skipped > 0
      ? `, ${run.stats.skipped} skipped (over ${LIMITS.maxInFlight} in flight)`
      : '') +
    `. Breaker ${breakerLabel(state)}.`;
}

liveForm.addEventListener('submit', (event) => {
  event.preventDefault();
  if (live && !live.stopping) return;
  const settings = readLiveSettings();
  const problem = checkLiveSettings(settings);
  for (const id of Object.values(LIVE_INPUT_IDS)) byId(id).removeAttribute('aria-invalid');
  if (problem) {
    const input = byId(LIVE_INPUT_IDS[/** @type {keyof typeof LIVE_INPUT_IDS} */ (problem.field)]);
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    liveStatus.textContent = problem.message;
    return;
  }
  const checked = /** @type {import('./live.js').LiveSettings} */ (
    /** @type {unknown} */ (settings)
  );
  const startPerf = performance.now();
  live = {
    stats: new LiveStats(),
    settings: checked,
    plan: faultPlan(checked),
    startEpochMs: Date.now(),
    startPerf,
    endPerf: startPerf + checked.durationSeconds * 1000,
    stoppedPerf: 0,
    inFlight: 0,
    stopping: false,
    timer: undefined,
    callerCluster: '',
    viaGateway: null,
    lastBrowserErrorMs: -Infinity,
  };
  // The state at the start, so the strip begins with a band.
  const lastState = breakerEvents.at(-1);
  if (lastState) breakerEvents.push({ state: lastState.state, atEpochMs: live.startEpochMs });
  live.timer = window.setInterval(() => {
    liveTick();
    drawLive();
  }, 50);
  liveStart.disabled = true;
  liveStop.disabled = false;
  liveForm.setAttribute('aria-busy', 'true');
  liveStatus.textContent = `Running: ${checked.rate} calls/s for ${checked.durationSeconds} s.`;
  liveTick();
});

liveStop.addEventListener('click', () => {
  if (!live || live.stopping) return;
  live.stoppedPerf = performance.now();
  finishLive(
    `Stopped after ${live.stats.sent} calls; answers still in flight are counted as they come.`,
  );
  liveStart.focus();
});

void loadUiConfig();
followBreakerEvents();
drawLive();
