// @vitest-environment happy-dom
/// <reference lib="dom" />
import { afterEach, describe, expect, it } from 'vitest';
import {
  classifyResponse,
  describeOutcome,
  metadataRows,
  renderHistoryRows,
  renderNetworkError,
  renderProblem,
  renderResult,
  renderUnexpected,
  shortOutcome,
  updateBreakerBadge,
} from '../../public/render.js';
import {
  XSS_IMG,
  XSS_SCRIPT,
  XSS_SVG,
  circuitOpenEnvelope,
  hostileEnvelope,
  okEnvelope,
  timeoutEnvelope,
  upstreamErrorEnvelope,
} from './envelopes.js';

// What render.js itself creates; anything else in the output was made from data.
const OWN_TAGS = new Set([
  'ARTICLE',
  'P',
  'DL',
  'DIV',
  'DT',
  'DD',
  'SECTION',
  'H3',
  'DETAILS',
  'SUMMARY',
  'TABLE',
  'TBODY',
  'TR',
  'TH',
  'TD',
]);
const OWN_ATTRIBUTES = new Set(['class', 'id', 'data-outcome', 'data-state', 'scope']);
const FIXED_DATA_VALUES = new Set([
  'ok',
  'upstream_error',
  'timeout',
  'circuit_open',
  'unreachable',
  'unknown',
  'error',
  'closed',
  'open',
  'half_open',
]);

/** Asserts that no element or attribute in `root` was created from data. */
function expectOnlyOwnMarkup(root: Element): void {
  const elements = [root, ...root.querySelectorAll('*')];
  for (const element of elements) {
    expect(OWN_TAGS, `unexpected <${element.tagName}>`).toContain(element.tagName);
    for (const attribute of element.attributes) {
      expect(OWN_ATTRIBUTES, `unexpected attribute ${attribute.name}`).toContain(attribute.name);
      if (attribute.name.startsWith('data-')) {
        expect(FIXED_DATA_VALUES).toContain(attribute.value);
      }
    }
  }
  expect(root.querySelectorAll('script, img, svg, iframe, a, b, style, link')).toHaveLength(0);
}

function mount(node: Element): Element {
  document.body.replaceChildren(node);
  return node;
}

afterEach(() => {
  document.body.replaceChildren();
  delete (window as unknown as { __pwned?: unknown }).__pwned;
});

describe('renderResult', () => {
  it('shows hostile payload, metadata and header values and keys as literal text', () => {
    const root = mount(renderResult(hostileEnvelope(), { httpStatus: 200, browserMs: 7 }));
    const text = root.textContent ?? '';
    for (const literal of [
      XSS_IMG,
      XSS_SCRIPT,
      XSS_SVG,
      '"><img src=x onerror=alert(1)>',
      'javascript:alert(1)',
      '<b>bold</b>',
      `${XSS_SVG}, ${XSS_IMG}`,
    ]) {
      expect(text).toContain(literal);
    }
    expectOnlyOwnMarkup(root);
    expect((window as unknown as { __pwned?: unknown }).__pwned).toBeUndefined();
  });

  it('shows the received payload, ids, status, round-trip time and both hops', () => {
    const root = mount(renderResult(okEnvelope(), { httpStatus: 200, browserMs: 20 }));
    const text = root.textContent ?? '';
    expect(root.querySelector('#outcome')?.textContent).toBe('Producer answered');
    expect(root.getAttribute('data-outcome')).toBe('ok');
    for (const expected of [
      'req-ok-1',
      'hello',
      '12 ms',
      '20 ms',
      'cluster-west',
      'us-west1-a',
      'sample-caller-7d9f8-abcde',
      '10.8.0.12',
      'cluster-central',
      'us-central1-a',
      'sample-producer-5c6b7-fghij',
      '10.20.1.7',
      'sample-producer.istio-apps.svc.clusterset.local:8080',
      '0af7651916cd43dd8448eb211c80319c',
    ]) {
      expect(text).toContain(expected);
    }
    const summaries = [...root.querySelectorAll('summary')].map((s) => s.textContent);
    expect(summaries).toEqual([
      'Headers the caller received (3)',
      'Headers the producer received (3)',
    ]);
  });

  it('says plainly when the producer did not answer', () => {
    const root = mount(renderResult(circuitOpenEnvelope()));
    expect(root.querySelector('#outcome')?.textContent).toBe(
      'Circuit breaker open: request not sent',
    );
    expect(root.textContent).toContain('No answer from the producer.');
    expect(root.textContent).toContain('0.2 ms');
  });

  it('keeps an unknown outcome out of attributes and shows it as text', () => {
    const root = mount(renderResult({ ...okEnvelope(), outcome: XSS_IMG }));
    expect(root.getAttribute('data-outcome')).toBe('unknown');
    expect(root.querySelector('#outcome')?.textContent).toBe(`Unknown outcome: ${XSS_IMG}`);
    expectOnlyOwnMarkup(root);
  });

  it('survives non-object metadata and headers', () => {
    const root = mount(
      renderResult({
        ...okEnvelope(),
        callerMetadata: XSS_IMG,
        producerMetadata: [1, 2],
        callerHeaders: 42,
        producerHeaders: null,
      }),
    );
    expect(root.textContent).toContain('No caller metadata.');
    expect(root.textContent).toContain('Headers the producer received (0)');
    expectOnlyOwnMarkup(root);
  });
});

describe('describeOutcome', () => {
  it('puts each outcome in plain words', () => {
    expect(describeOutcome('ok', 200)).toBe('Producer answered');
    expect(describeOutcome('timeout', null)).toBe('Timed out waiting for the producer');
    expect(describeOutcome('circuit_open', null)).toBe('Circuit breaker open: request not sent');
    expect(describeOutcome('upstream_error', 503)).toBe(
      'Producer answered with an error status 503',
    );
    expect(describeOutcome('unreachable', null)).toBe('Producer unreachable');
    expect(
      mount(renderResult(upstreamErrorEnvelope(418))).querySelector('#outcome')?.textContent,
    ).toBe('Producer answered with an error status 418');
    expect(shortOutcome('timeout', null)).toBe('Timed out');
  });
});

describe('metadataRows', () => {
  it('labels service, cluster, zone, pod, IP, version and host first, then the other keys as given', () => {
    expect(
      metadataRows({
        extra: 'x',
        pod_ip: '10.0.0.9',
        POD_NAME: 'p-1',
        zone: 'europe-west1-b',
        cluster: 'c1',
        version: 'v2',
        hostName: 'node-a',
        service: 'sample-caller',
      }),
    ).toEqual([
      ['Service', 'sample-caller'],
      ['Cluster', 'c1'],
      ['Zone', 'europe-west1-b'],
      ['Pod', 'p-1'],
      ['IP', '10.0.0.9'],
      ['Version', 'v2'],
      ['Host', 'node-a'],
      ['extra', 'x'],
    ]);
  });
});

describe('renderProblem', () => {
  it('shows a problem+json detail and field as text', () => {
    const root = mount(
      renderProblem(
        {
          type: 'about:blank',
          title: 'Bad Request',
          status: 400,
          detail: `body/delay must be <= 30000 ${XSS_IMG}`,
          field: XSS_SCRIPT,
        },
        400,
      ),
    );
    expect(root.querySelector('#outcome')?.textContent).toBe(
      'The caller refused the request: Bad Request',
    );
    expect(root.textContent).toContain(`body/delay must be <= 30000 ${XSS_IMG}`);
    expect(root.textContent).toContain(XSS_SCRIPT);
    expect(root.textContent).toContain('400');
    expectOnlyOwnMarkup(root);
  });
});

describe('renderUnexpected and renderNetworkError', () => {
  it('shows a gateway HTML page as text', () => {
    const root = mount(renderUnexpected(502, 'text/html', `<html><body>${XSS_IMG}</body></html>`));
    expect(root.querySelector('#outcome')?.textContent).toBe('Unexpected answer: HTTP 502');
    expect(root.textContent).toContain(`<html><body>${XSS_IMG}</body></html>`);
    expectOnlyOwnMarkup(root);
  });

  it('shows a network error message as text', () => {
    const root = mount(renderNetworkError(`TypeError: Failed to fetch ${XSS_SCRIPT}`));
    expect(root.querySelector('#outcome')?.textContent).toBe(
      'Network error: the caller could not be reached',
    );
    expect(root.textContent).toContain(XSS_SCRIPT);
    expectOnlyOwnMarkup(root);
  });
});

describe('renderHistoryRows', () => {
  it('renders time, outcome, producer and caller status apart, latency and breaker state, hostile values as text', () => {
    const rows = renderHistoryRows([
      {
        at: Date.UTC(2026, 0, 1, 12, 0, 0, 5),
        outcome: 'timeout',
        label: 'Timed out',
        producerStatus: null,
        callerStatus: 504,
        latencyMs: 3001.7,
        breakerState: 'open',
      },
      {
        at: Date.UTC(2026, 0, 1, 12, 0, 1),
        outcome: XSS_IMG,
        label: XSS_SCRIPT,
        producerStatus: XSS_SVG,
        callerStatus: 502,
        latencyMs: undefined,
        breakerState: XSS_IMG,
      },
    ]);
    const table = document.createElement('table');
    table.append(...rows);
    document.body.replaceChildren(table);
    const cells = rows.map((row) => [...row.cells].map((cell) => cell.textContent));
    expect(cells[0]?.slice(1)).toEqual(['Timed out', '—', '504', '3002 ms', 'open']);
    expect(cells[1]?.slice(1)).toEqual([XSS_SCRIPT, XSS_SVG, '502', '—', XSS_IMG]);
    expect(rows[0]?.getAttribute('data-outcome')).toBe('timeout');
    expect(rows[1]?.getAttribute('data-outcome')).toBe('unknown');
    expect(rows[1]?.cells[5]?.getAttribute('data-state')).toBe('unknown');
    // Each cell names its column for the stacked phone layout.
    expect([...(rows[0]?.cells ?? [])].map((cell) => cell.getAttribute('data-label'))).toEqual([
      'Time',
      'Outcome',
      'Producer status',
      'Caller status',
      'Latency',
      'Breaker',
    ]);
    for (const row of rows) {
      for (const element of [row, ...row.querySelectorAll('*')]) {
        expect(['TR', 'TD']).toContain(element.tagName);
      }
    }
    expect(table.querySelectorAll('script, img, svg')).toHaveLength(0);
  });
});

describe('updateBreakerBadge', () => {
  it('shows the state and keeps unknown values out of the data-state attribute', () => {
    const badge = document.createElement('p');
    updateBreakerBadge(badge, 'half_open');
    expect(badge.textContent).toBe('Circuit breaker: half-open');
    expect(badge.getAttribute('data-state')).toBe('half_open');
    updateBreakerBadge(badge, XSS_IMG);
    expect(badge.textContent).toBe(`Circuit breaker: ${XSS_IMG}`);
    expect(badge.getAttribute('data-state')).toBe('unknown');
    expect(badge.children).toHaveLength(0);
  });
});

describe('classifyResponse', () => {
  it('tells envelopes, problem+json and other answers apart', () => {
    const timeout = JSON.stringify(timeoutEnvelope());
    expect(classifyResponse(504, 'application/json', timeout).kind).toBe('envelope');
    expect(
      classifyResponse(
        400,
        'application/problem+json',
        JSON.stringify({ title: 'Bad Request', status: 400, detail: 'x', field: 'delay' }),
      ).kind,
    ).toBe('problem');
    expect(classifyResponse(502, 'text/html', '<h1>Bad gateway</h1>').kind).toBe('unexpected');
    expect(classifyResponse(200, 'application/json', '[1,2]').kind).toBe('unexpected');
  });
});
