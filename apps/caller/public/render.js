// Pure render functions for the caller UI. Every value that comes from the network is put into the
// page with textContent only: no innerHTML, and no element or attribute name is ever taken from
// data. Attribute values that steer styling (data-outcome, data-state) come from fixed lists.

/** Outcomes of the caller envelope (docs/contract.md, outcome table). */
export const OUTCOMES = [
  'ok',
  'upstream_error',
  'timeout',
  'circuit_open',
  'overloaded',
  'unreachable',
];

/** Circuit breaker states reported in `breaker.state`. */
export const BREAKER_STATES = ['closed', 'open', 'half_open'];

const BREAKER_LABELS = { closed: 'closed', open: 'open', half_open: 'half-open' };

// Metadata keys are matched loosely (clusterName, cluster_name, cluster, …) so the UI keeps
// working whichever spelling the identity module settles on; unknown keys are shown as they come.
const METADATA_LABELS = [
  ['Service', ['service', 'servicename']],
  ['Cluster', ['clustername', 'cluster']],
  ['Zone', ['clusterlocation', 'location', 'zone']],
  ['Pod', ['podname', 'pod']],
  ['IP', ['podip', 'ip']],
  ['Version', ['appversion', 'version']],
  ['Host', ['hostname', 'host']],
];

const DASH = '—';

/**
 * The outcome in plain words.
 * @param {unknown} outcome
 * @param {unknown} statusCode the producer's status, when it answered
 * @returns {string}
 */
export function describeOutcome(outcome, statusCode) {
  switch (outcome) {
    case 'ok':
      return 'Producer answered';
    case 'timeout':
      return 'Timed out waiting for the producer';
    case 'circuit_open':
      return 'Circuit breaker open: request not sent';
    case 'overloaded':
      return 'Caller at its limit of calls in flight: request not sent';
    case 'upstream_error':
      return `Producer answered with an error status ${formatValue(statusCode)}`;
    case 'unreachable':
      return 'Producer unreachable';
    default:
      return `Unknown outcome: ${formatValue(outcome)}`;
  }
}

/**
 * The outcome in one or two words, for the history table.
 * @param {unknown} outcome
 * @param {unknown} statusCode
 * @returns {string}
 */
export function shortOutcome(outcome, statusCode) {
  switch (outcome) {
    case 'ok':
      return 'Answered';
    case 'timeout':
      return 'Timed out';
    case 'circuit_open':
      return 'Breaker open, not sent';
    case 'overloaded':
      return 'Overloaded, not sent';
    case 'upstream_error':
      return `Error ${formatValue(statusCode)}`;
    case 'unreachable':
      return 'Unreachable';
    default:
      return `Unknown: ${formatValue(outcome)}`;
  }
}

/**
 * A value as display text: strings as they are, null/undefined as a dash, the rest as JSON.
 * @param {unknown} value
 * @returns {string}
 */
export function formatValue(value) {
  if (value === null || value === undefined || value === '') return DASH;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map(formatValue).join(', ');
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/**
 * Milliseconds for people: one decimal below 10 ms, whole numbers above.
 * @param {unknown} ms
 * @returns {string}
 */
export function formatMs(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return DASH;
  return `${ms < 10 ? ms.toFixed(1) : String(Math.round(ms))} ms`;
}

/**
 * The known outcome, or 'unknown'; safe to use as an attribute value.
 * @param {unknown} outcome
 * @returns {string}
 */
export function outcomeKey(outcome) {
  return typeof outcome === 'string' && OUTCOMES.includes(outcome) ? outcome : 'unknown';
}

/**
 * The known breaker state, or 'unknown'; safe to use as an attribute value.
 * @param {unknown} state
 * @returns {string}
 */
export function breakerKey(state) {
  return typeof state === 'string' && BREAKER_STATES.includes(state) ? state : 'unknown';
}

/**
 * Sorts out what the caller answered: its envelope, a problem+json error or anything else.
 * @param {number} httpStatus
 * @param {string | null} contentType
 * @param {string} bodyText
 */
export function classifyResponse(httpStatus, contentType, bodyText) {
  let body;
  try {
    body = JSON.parse(bodyText);
  } catch {
    return { kind: 'unexpected', httpStatus, contentType, text: bodyText };
  }
  const isObject = body !== null && typeof body === 'object' && !Array.isArray(body);
  if (isObject && 'outcome' in body) return { kind: 'envelope', httpStatus, envelope: body };
  if (isObject && (/problem\+json/i.test(contentType ?? '') || httpStatus >= 400)) {
    return { kind: 'problem', httpStatus, problem: body };
  }
  return { kind: 'unexpected', httpStatus, contentType, text: bodyText };
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

/**
 * A definition list from [label, value] pairs; labels are ours, values are data.
 * @param {Array<[string, string]>} rows
 * @returns {HTMLDListElement}
 */
function definitionList(rows) {
  const dl = /** @type {HTMLDListElement} */ (el('dl', 'facts'));
  for (const [label, value] of rows) {
    const row = el('div', 'fact');
    row.append(el('dt', null, label), el('dd', null, value));
    dl.append(row);
  }
  return dl;
}

/**
 * @param {string} key
 * @returns {string}
 */
function normaliseKey(key) {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/**
 * Metadata as [label, value] pairs: the known identity fields first, then anything else as given.
 * @param {unknown} metadata
 * @returns {Array<[string, string]>}
 */
export function metadataRows(metadata) {
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) return [];
  const entries = Object.entries(metadata);
  const used = new Set();
  /** @type {Array<[string, string]>} */
  const rows = [];
  for (const [label, aliases] of METADATA_LABELS) {
    const match = entries.find(([key]) => !used.has(key) && aliases.includes(normaliseKey(key)));
    if (match) {
      used.add(match[0]);
      rows.push([label, formatValue(match[1])]);
    }
  }
  for (const [key, value] of entries) {
    if (!used.has(key)) rows.push([key, formatValue(value)]);
  }
  return rows;
}

/**
 * One hop's identity card.
 * @param {string} title
 * @param {unknown} metadata
 * @param {string} emptyText
 * @returns {HTMLElement}
 */
export function renderMetadata(title, metadata, emptyText) {
  const card = el('section', 'card metadata');
  card.append(el('h3', null, title));
  const rows = metadataRows(metadata);
  card.append(rows.length > 0 ? definitionList(rows) : el('p', 'muted', emptyText));
  return card;
}

/**
 * One hop's headers as a collapsible table, sorted by name.
 * @param {string} title
 * @param {unknown} headers
 * @returns {HTMLElement}
 */
export function renderHeaders(title, headers) {
  const details = el('details', 'card headers');
  const entries =
    headers !== null && typeof headers === 'object' && !Array.isArray(headers)
      ? Object.entries(headers).sort(([a], [b]) => a.localeCompare(b))
      : [];
  details.append(el('summary', null, `${title} (${entries.length})`));
  if (entries.length === 0) {
    details.append(el('p', 'muted', 'No headers.'));
    return details;
  }
  const table = el('table', 'kv');
  const body = el('tbody');
  for (const [name, value] of entries) {
    const row = el('tr');
    const th = el('th', null, name);
    th.setAttribute('scope', 'row');
    row.append(th, el('td', null, formatValue(value)));
    body.append(row);
  }
  table.append(body);
  details.append(table);
  return details;
}

/**
 * The result of one call: outcome in words, the call's facts, both hops' metadata and headers.
 * @param {Record<string, unknown>} envelope the caller's envelope
 * @param {{ httpStatus?: number, browserMs?: number, traceUrl?: string | null }} [context]
 * @returns {HTMLElement}
 */
export function renderResult(envelope, context = {}) {
  const result = el('article', 'result');
  const key = outcomeKey(envelope.outcome);
  result.dataset.outcome = key;

  const headline = el('p', 'outcome', describeOutcome(envelope.outcome, envelope.statusCode));
  headline.id = 'outcome';
  result.append(headline);

  const breaker = /** @type {{ state?: unknown } | null | undefined} */ (envelope.breaker);
  result.append(
    definitionList([
      ['Request id', formatValue(envelope.id)],
      ['Received', formatValue(envelope.received)],
      ['Producer status', formatValue(envelope.statusCode)],
      ['Caller HTTP status', formatValue(context.httpStatus)],
      ['Round-trip time', formatMs(envelope.roundTripTimeMillis)],
      ['Seen by the browser', formatMs(context.browserMs)],
      ['Breaker', breakerLabel(breaker?.state)],
      ['Trace id', formatValue(envelope.traceId)],
    ]),
  );
  // The trace id as a link when the operator set TRACE_URL_TEMPLATE (the URL is built and
  // checked by the caller of this function: http(s) only).
  if (context.traceUrl) {
    const cell = [...result.querySelectorAll('.fact')].at(-1)?.querySelector('dd');
    if (cell) {
      const link = /** @type {HTMLAnchorElement} */ (el('a', 'trace-link', cell.textContent));
      link.href = context.traceUrl;
      link.target = '_blank';
      link.rel = 'noopener noreferrer';
      link.setAttribute('aria-label', `Open trace ${cell.textContent} (new tab)`);
      cell.replaceChildren(link);
    }
  }

  const hops = el('div', 'hops');
  hops.append(
    renderMetadata('Caller', envelope.callerMetadata, 'No caller metadata.'),
    renderMetadata('Producer', envelope.producerMetadata, 'No answer from the producer.'),
  );
  result.append(hops);

  const headers = el('div', 'hops');
  headers.append(
    renderHeaders('Headers the caller received', envelope.callerHeaders),
    renderHeaders('Headers the producer received', envelope.producerHeaders),
  );
  result.append(headers);
  return result;
}

/**
 * A problem+json answer (RFC 9457): title, status, detail and the offending field.
 * @param {Record<string, unknown>} problem
 * @param {number} httpStatus
 * @returns {HTMLElement}
 */
export function renderProblem(problem, httpStatus) {
  const box = el('article', 'result problem');
  box.dataset.outcome = 'error';
  const title = typeof problem.title === 'string' && problem.title ? problem.title : 'Error';
  const headline = el('p', 'outcome', `The caller refused the request: ${title}`);
  headline.id = 'outcome';
  box.append(headline);
  /** @type {Array<[string, string]>} */
  const rows = [['Status', formatValue(problem.status ?? httpStatus)]];
  if (problem.detail !== undefined) rows.push(['Detail', formatValue(problem.detail)]);
  if (problem.field !== undefined) rows.push(['Field', formatValue(problem.field)]);
  if (problem.type !== undefined) rows.push(['Type', formatValue(problem.type)]);
  box.append(definitionList(rows));
  return box;
}

/**
 * An answer that is neither an envelope nor problem+json (e.g. a gateway's HTML error page).
 * @param {number} httpStatus
 * @param {string | null} contentType
 * @param {string} text
 * @returns {HTMLElement}
 */
export function renderUnexpected(httpStatus, contentType, text) {
  const box = el('article', 'result problem');
  box.dataset.outcome = 'error';
  const headline = el('p', 'outcome', `Unexpected answer: HTTP ${httpStatus}`);
  headline.id = 'outcome';
  box.append(headline);
  const excerpt = text.length > 500 ? `${text.slice(0, 500)}…` : text;
  box.append(
    definitionList([
      ['Content type', formatValue(contentType)],
      ['Body', formatValue(excerpt)],
    ]),
  );
  return box;
}

/**
 * The browser could not reach the caller at all.
 * @param {string} message
 * @returns {HTMLElement}
 */
export function renderNetworkError(message) {
  const box = el('article', 'result problem');
  box.dataset.outcome = 'error';
  const headline = el('p', 'outcome', 'Network error: the caller could not be reached');
  headline.id = 'outcome';
  box.append(headline, el('p', 'muted', message));
  return box;
}

/**
 * @param {unknown} state
 * @returns {string}
 */
export function breakerLabel(state) {
  const key = breakerKey(state);
  return key === 'unknown'
    ? state === undefined || state === null
      ? DASH
      : formatValue(state)
    : BREAKER_LABELS[/** @type {'closed'|'open'|'half_open'} */ (key)];
}

/**
 * Shows the breaker state on the badge.
 * @param {HTMLElement} badge
 * @param {unknown} state
 */
export function updateBreakerBadge(badge, state) {
  badge.dataset.state = breakerKey(state);
  badge.textContent = `Circuit breaker: ${state === undefined ? 'not known yet' : breakerLabel(state)}`;
}

/**
 * @typedef {object} HistoryEntry
 * @property {number} at epoch ms when the answer came
 * @property {string} outcome an outcome, or 'error' for problem/network errors
 * @property {string} label what happened, in words
 * @property {unknown} producerStatus the producer's status (envelope statusCode), null without an answer
 * @property {unknown} callerStatus the caller's own HTTP status (null on a network error)
 * @property {number | undefined} latencyMs
 * @property {unknown} breakerState
 */

/** Column names of the history table, as the narrow layout labels each cell. */
export const HISTORY_LABELS = [
  'Time',
  'Outcome',
  'Producer status',
  'Caller status',
  'Latency',
  'Breaker',
];

/**
 * The history table's rows, newest first.
 * @param {HistoryEntry[]} entries
 * @returns {HTMLTableRowElement[]}
 */
export function renderHistoryRows(entries) {
  return entries.map((entry) => {
    const row = /** @type {HTMLTableRowElement} */ (el('tr'));
    row.dataset.outcome = entry.outcome === 'error' ? 'error' : outcomeKey(entry.outcome);
    const time = el('td', 'time', formatTime(entry.at));
    const outcome = el('td', 'outcome-cell', entry.label);
    // Two columns: the producer's status (what it answered) is never mixed with the caller's
    // (what the browser got: 502/503/504 for the failures the caller names).
    const producerStatus = el('td', 'num', formatValue(entry.producerStatus));
    const callerStatus = el('td', 'num', formatValue(entry.callerStatus));
    const latency = el('td', 'num', formatMs(entry.latencyMs));
    const breaker = el('td', 'breaker-cell', breakerLabel(entry.breakerState));
    breaker.dataset.state = breakerKey(entry.breakerState);
    const cells = [time, outcome, producerStatus, callerStatus, latency, breaker];
    // Labels for the narrow layout, where each row stacks as a card (styles.css).
    HISTORY_LABELS.forEach((label, i) => cells[i]?.setAttribute('data-label', label));
    row.append(...cells);
    return row;
  });
}

/**
 * @param {number} epochMs
 * @returns {string}
 */
function formatTime(epochMs) {
  const d = new Date(epochMs);
  const pad = (/** @type {number} */ n, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
