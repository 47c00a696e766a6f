/// <reference lib="dom" />
// The page callbacks below run in Chromium and are typed with the DOM.
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtmlReport } from '../src/html-report.js';
import { runLoad } from '../src/run-load.js';
import type { LoadReport } from '../src/result-types.js';
import { BreakerFeed, envelope, sendJson, startStub, type StubServer } from './stub-server.js';

// Kept after the run (gitignored): open report.html or look at report.png.
const artifacts = fileURLToPath(new URL('../test-artifacts/', import.meta.url));

/** A caller whose producer times out for a while: the breaker opens, half-opens and closes. */
function scriptedCaller(arrival: number): { status: number; outcome: string; state: string } {
  if (arrival <= 100) return { status: 200, outcome: 'ok', state: 'closed' };
  if (arrival <= 103)
    return { status: 504, outcome: 'timeout', state: arrival === 103 ? 'open' : 'closed' };
  if (arrival <= 200) return { status: 503, outcome: 'circuit_open', state: 'open' };
  if (arrival === 201) return { status: 502, outcome: 'upstream_error', state: 'half_open' };
  if (arrival <= 220) return { status: 503, outcome: 'circuit_open', state: 'half_open' };
  return { status: 200, outcome: 'ok', state: 'closed' };
}

let stub: StubServer;
let browser: Browser;
let report: LoadReport;

beforeAll(async () => {
  let stallUntil = 0;
  // The caller's own record follows the same script (its events stream).
  const breaker = new BreakerFeed('closed');
  stub = await startStub(
    (_req, res, arrival) => {
      const answer = scriptedCaller(arrival);
      breaker.set(answer.state as 'closed' | 'open' | 'half_open');
      if (arrival === 300) stallUntil = Date.now() + 600;
      const wait = Math.max(stallUntil - Date.now(), answer.outcome === 'ok' ? 4 : 1);
      setTimeout(() => sendJson(res, answer.status, envelope(answer.outcome, answer.state)), wait);
    },
    { breaker },
  );
  // One connection keeps the answers in the scripted order (so the breaker cycle is exact).
  report = await runLoad({ url: stub.url, rate: 100, durationMs: 4000, connections: 1 });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await stub?.close();
});

describe('HTML report', () => {
  it('opens in headless Chromium without console errors and draws every chart', async () => {
    const html = renderHtmlReport(report);
    // Self-contained: nothing is fetched from anywhere.
    expect(html).not.toMatch(/<script|<link|<img|\ssrc=|url\(/);

    await mkdir(artifacts, { recursive: true });
    const file = `${artifacts}report.html`;
    await writeFile(file, html);

    const page = await browser.newPage({ viewport: { width: 960, height: 900 } });
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(pathToFileURL(file).href);

    const charts = await page.$$eval('svg.chart', (svgs) =>
      svgs.map((svg) => ({
        title: svg.querySelector('title')?.textContent ?? '',
        dataPaths: [...svg.querySelectorAll('path.data')].filter(
          (p) => (p.getAttribute('d') ?? '').length > 10,
        ).length,
        width: svg.getBoundingClientRect().width,
      })),
    );
    expect(charts.map((c) => c.title)).toEqual([
      expect.stringContaining('Latency percentiles'),
      expect.stringContaining('Throughput'),
      expect.stringContaining('Outcomes'),
      expect.stringContaining("the caller's own record"),
      expect.stringContaining('seen in the envelopes'),
      expect.stringContaining('distribution'),
    ]);
    for (const chart of charts) {
      expect(chart.dataPaths, chart.title).toBeGreaterThan(0);
      expect(chart.width, chart.title).toBeGreaterThan(300);
    }
    // Percentile lines p50/p90/p99/max; breaker bands closed → open → half_open → closed.
    expect(charts[0]!.dataPaths).toBe(4);
    expect(charts[3]!.dataPaths).toBe(4);
    expect(charts[4]!.dataPaths).toBe(4);
    const text = (await page.textContent('body')) ?? '';
    expect(text).toContain('circuit_open');
    // The generator's own verdict and the producer split are in the page, not only the terminal.
    expect(text).toMatch(/Generator: measurement (valid|invalid)/);
    expect(text).toContain('send lag');
    expect(text).toContain('By producer cluster and pod');
    expect(text).toContain('(no producer answered)');

    await page.screenshot({ path: `${artifacts}report.png`, fullPage: true });
    await page.close();
    expect(problems).toEqual([]);
    expect(requests).toEqual([pathToFileURL(file).href]);
  });

  it("reports the scripted breaker cycle it draws, from the caller's record and from the envelopes", () => {
    for (const transitions of [report.breakerTransitions, report.envelopeBreakerTransitions]) {
      expect(transitions.map((t) => `${t.from}->${t.to}`)).toEqual([
        'closed->open',
        'open->half_open',
        'half_open->closed',
      ]);
    }
    expect(report.callerBreaker).toMatchObject({ recorded: true, error: null });
    expect(report.outcomeCounts).toMatchObject({
      timeout: 3,
      upstream_error: 1,
      circuit_open: 116,
    });
  });
});
