// @vitest-environment happy-dom
/// <reference lib="dom" />
// The live view's logic (public/live.js) and drawing (public/live-view.js) without a browser:
// bounded settings, the fault mix, per-second figures, the breaker's spans, trace links, and
// data from the network ending up as text only.
import { describe, expect, it } from 'vitest';
import {
  LiveStats,
  breakerSpans,
  checkLiveSettings,
  faultPlan,
  percentile,
  replicaOf,
  traceUrl,
} from '../../public/live.js';
import { renderReplicaRows, renderTopology } from '../../public/live-view.js';
import { renderResult } from '../../public/render.js';
import { XSS_IMG, XSS_SCRIPT, okEnvelope } from './envelopes.js';

const SETTINGS = {
  rate: 10,
  durationSeconds: 60,
  delayShare: 0,
  delayMs: 1000,
  errorShare: 0,
  responseCode: 500,
};

describe('checkLiveSettings', () => {
  it('accepts the bounds and names the first field outside them', () => {
    expect(checkLiveSettings(SETTINGS)).toBeNull();
    expect(checkLiveSettings({ ...SETTINGS, rate: 100, durationSeconds: 600 })).toBeNull();
    expect(checkLiveSettings({ ...SETTINGS, rate: 101 })).toEqual({
      field: 'rate',
      message: 'Rate must be a whole number from 1 to 100.',
    });
    expect(checkLiveSettings({ ...SETTINGS, rate: 0 })?.field).toBe('rate');
    expect(checkLiveSettings({ ...SETTINGS, rate: Number.NaN })?.field).toBe('rate');
    expect(checkLiveSettings({ ...SETTINGS, durationSeconds: 601 })?.field).toBe('durationSeconds');
    expect(checkLiveSettings({ ...SETTINGS, delayShare: 2.5 })?.field).toBe('delayShare');
    expect(checkLiveSettings({ ...SETTINGS, responseCode: 600 })?.field).toBe('responseCode');
    expect(checkLiveSettings({ ...SETTINGS, delayMs: 30_001 })?.field).toBe('delayMs');
  });
});

describe('faultPlan', () => {
  it('spreads the shares exactly: 20 % delayed is one call in five, 50 % errors every other', () => {
    const plan = faultPlan({ ...SETTINGS, delayShare: 20, errorShare: 50, delayMs: 700 });
    const calls = Array.from({ length: 100 }, () => plan.next());
    expect(calls.filter((c) => c.delay === 700)).toHaveLength(20);
    expect(calls.filter((c) => c.delay === 0)).toHaveLength(80);
    expect(calls.filter((c) => c.responseCode === 500)).toHaveLength(50);
    // Evenly spread, not bunched: every block of 10 calls holds 2 delayed ones.
    for (let i = 0; i < 100; i += 10) {
      expect(calls.slice(i, i + 10).filter((c) => c.delay === 700)).toHaveLength(2);
    }
  });

  it('sends no fault at 0 % and a fault on every call at 100 %', () => {
    const none = faultPlan(SETTINGS);
    expect(Array.from({ length: 10 }, () => none.next())).toEqual(
      Array.from({ length: 10 }, () => ({ delay: 0, responseCode: 200 })),
    );
    const all = faultPlan({ ...SETTINGS, delayShare: 100, errorShare: 100 });
    expect(all.next()).toEqual({ delay: 1000, responseCode: 500 });
  });
});

describe('LiveStats', () => {
  it('keeps per-second outcomes and percentiles of calls sent, refused ones out of the latency', () => {
    const stats = new LiveStats();
    for (let i = 1; i <= 100; i += 1) {
      stats.record({ atMs: 1000 + i, outcome: 'ok', latencyMs: i, replica: null });
    }
    for (let i = 0; i < 50; i += 1) {
      stats.record({ atMs: 1500, outcome: 'circuit_open', latencyMs: 0.1, replica: null });
    }
    stats.record({ atMs: 1600, outcome: 'weird', latencyMs: 5, replica: null });
    const second = stats.figures(1);
    expect(second.calls).toBe(151);
    expect(second.outcomes).toMatchObject({ ok: 100, circuit_open: 50, error: 1 });
    expect([second.p50, second.p90, second.p99]).toEqual([50, 90, 99]);
    expect(stats.figures(0).calls).toBe(0);
    expect(stats.window(1.5, 60).map((s) => s.second)).toEqual([0, 1]);
    expect(stats.window(100, 60)[0]?.second).toBe(41);
  });

  it('splits answers by cluster and replica, with each replica’s calls in a given second', () => {
    const stats = new LiveStats();
    const a = { cluster: 'cluster-2', pod: 'p-a' };
    const b = { cluster: 'cluster-3', pod: 'p-b' };
    for (let i = 0; i < 6; i += 1)
      stats.record({ atMs: 100 * i, outcome: 'ok', latencyMs: 1, replica: a });
    for (let i = 0; i < 3; i += 1)
      stats.record({ atMs: 1000 + i, outcome: 'upstream_error', latencyMs: 1, replica: b });
    const split = stats.replicaSplit(1);
    expect(split).toEqual([
      { cluster: 'cluster-2', pod: 'p-a', calls: 6, ok: 6, recent: 0 },
      { cluster: 'cluster-3', pod: 'p-b', calls: 3, ok: 0, recent: 3 },
    ]);
    const rows = renderReplicaRows(split);
    expect(rows.map((row) => [...row.cells].map((c) => c.textContent))).toEqual([
      ['cluster-2', 'p-a', '6', '67 %', '0'],
      ['cluster-3', 'p-b', '3', '33 %', '3'],
    ]);
  });
});

describe('percentile and replicaOf', () => {
  it('uses the nearest rank and reads the producer metadata the caller sends', () => {
    expect(percentile([], 50)).toBeUndefined();
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(replicaOf({ clusterName: 'c2', podName: 'p1' })).toEqual({ cluster: 'c2', pod: 'p1' });
    expect(replicaOf(null)).toBeNull();
    expect(replicaOf({})).toEqual({ cluster: '?', pod: '?' });
  });
});

describe('breakerSpans', () => {
  it('turns the event stream into spans over the run, the state before the start included', () => {
    const start = 10_000;
    const spans = breakerSpans(
      [
        { state: 'closed', atEpochMs: 1_000 },
        { state: 'open', atEpochMs: 12_000 },
        { state: 'half_open', atEpochMs: 14_000 },
        { state: 'closed', atEpochMs: 14_050 },
      ],
      start,
      20_000,
    );
    expect(spans).toEqual([
      { state: 'closed', fromMs: 0, toMs: 2_000 },
      { state: 'open', fromMs: 2_000, toMs: 4_000 },
      { state: 'half_open', fromMs: 4_000, toMs: 4_050 },
      { state: 'closed', fromMs: 4_050, toMs: 10_000 },
    ]);
  });
});

describe('traceUrl', () => {
  const id = '4bf92f3577b34da6a3ce929d0e0e4736';
  it('fills {traceId} into an http(s) template and refuses anything else', () => {
    expect(traceUrl('https://trace.example/t/{traceId}?x=1', id, 'http://caller/')).toBe(
      `https://trace.example/t/${id}?x=1`,
    );
    expect(traceUrl(null, id, 'http://caller/')).toBeNull();
    expect(traceUrl('https://trace.example/t/', id, 'http://caller/')).toBeNull();
    expect(traceUrl('javascript:alert({traceId})', id, 'http://caller/')).toBeNull();
    expect(traceUrl('https://trace.example/{traceId}', `${id}"><b>`, 'http://caller/')).toBeNull();
    expect(traceUrl('https://trace.example/{traceId}', null, 'http://caller/')).toBeNull();
  });
});

describe('the trace id in a result', () => {
  it('is a link to the URL given, opened in a new tab without an opener; plain text without one', () => {
    const envelope = okEnvelope();
    const url = `https://jaeger.example/trace/${String(envelope.traceId)}`;
    const linked = renderResult(envelope, { httpStatus: 200, traceUrl: url });
    const link = linked.querySelector('a.trace-link');
    expect(link?.getAttribute('href')).toBe(url);
    expect(link?.textContent).toBe(envelope.traceId);
    expect(link?.getAttribute('rel')).toBe('noopener noreferrer');
    expect(link?.getAttribute('target')).toBe('_blank');
    expect(renderResult(envelope, { httpStatus: 200 }).querySelector('a')).toBeNull();
  });
});

describe('renderTopology', () => {
  it('draws hostile cluster and pod names as text, and says where calls fail', () => {
    for (const narrow of [false, true]) {
      const picture = renderTopology(
        {
          callerCluster: XSS_SCRIPT,
          viaGateway: true,
          breakerState: 'open',
          replicas: [{ cluster: XSS_IMG, pod: XSS_SCRIPT, recent: 0 }],
          lastSecond: { circuit_open: 20, unreachable: 1 },
          browserErrors: false,
        },
        narrow,
      );
      document.body.replaceChildren(picture);
      expect(document.querySelectorAll('script, img, foreignObject')).toHaveLength(0);
      const label = picture.getAttribute('aria-label') ?? '';
      expect(label).toContain('breaker open');
      expect(label).toContain('1 failed on the link, 20 refused by the caller');
      expect(picture.textContent).toContain('20/s refused');
      expect(picture.querySelector('.node.breaker-open')).not.toBeNull();
    }
  });
});
