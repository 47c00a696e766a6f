// Wires the form to `POST caller/messages` and keeps the result, breaker badge and history up to
// date. The URL is relative on purpose: the page works behind a gateway under any path prefix.
import {
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
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, application/problem+json',
        ...(faultTokenInput.value === '' ? {} : { [FAULT_TOKEN_HEADER]: faultTokenInput.value }),
      },
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
      status: null,
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
    updateBreakerBadge(breakerBadge, breakerState);
    showResult(renderResult(envelope, { httpStatus: response.status, browserMs }));
    addHistory({
      at: Date.now(),
      outcome: envelope.outcome,
      label: shortOutcome(envelope.outcome, envelope.statusCode),
      status: envelope.statusCode ?? response.status,
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
      status: response.status,
      latencyMs: browserMs,
      breakerState: undefined,
    });
  } else {
    showResult(renderUnexpected(response.status, answer.contentType, answer.text));
    addHistory({
      at: Date.now(),
      outcome: 'error',
      label: 'Unexpected answer',
      status: response.status,
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
