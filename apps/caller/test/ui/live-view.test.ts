/// <reference lib="dom" />
// The live traffic view in Chromium against the real built caller and producer processes on
// loopback: traffic from the browser, the producer going away (an outage: the breaker opens and
// the badge follows GET /caller/events without a click) and coming back (heal), the per-replica
// split, a phone-width dark-mode run, and the trace id as a link. Screenshots: test-artifacts/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '@s2s/test-support/free-port';
import { startNodeService, type StartedNodeService } from '@s2s/test-support/node-service';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ARTIFACTS_DIR,
  launchChromium,
  screenshot,
  sendAndWait,
  watchProblems,
} from './chromium.js';

const CALLER_SERVER = fileURLToPath(new URL('../../dist/server.js', import.meta.url));
const PRODUCER_SERVER = fileURLToPath(new URL('../../../producer/dist/server.js', import.meta.url));
const PRODUCER_HOST = 'sample-producer.istio-apps.svc.clusterset.local';
const TRACE_URL_TEMPLATE = 'http://127.0.0.1:16686/trace/{traceId}';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

function identity(cluster: string, pod: string): Record<string, string> {
  return {
    CLUSTER_NAME: cluster,
    CLUSTER_LOCATION: 'local',
    POD_NAME: pod,
    POD_IP: '127.0.0.1',
    APP_VERSION: 'v-test',
  };
}

function start(script: string, env: Record<string, string>): Promise<StartedNodeService> {
  if (!existsSync(script)) throw new Error(`${script} is missing: build the apps first`);
  return startNodeService({
    args: ['--enable-source-maps', script],
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      SHUTDOWN_DELAY_MS: '0',
      LOG_LEVEL: 'warn',
      ...env,
    },
    listening:
      /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"|Server listening at (http:\/\/127\.0\.0\.1:\d+)/,
  });
}

let browser: Browser | undefined;
let producer: StartedNodeService | undefined;
let caller: StartedNodeService | undefined;
let producerPort = 0;

const startProducer = () =>
  start(PRODUCER_SERVER, {
    ...identity('cluster-2', 'sample-producer-v1-7f9c'),
    PORT: String(producerPort),
    LOG_LEVEL: 'info',
  });

beforeAll(async () => {
  producerPort = await freePort();
  producer = await startProducer();
  caller = await start(CALLER_SERVER, {
    ...identity('cluster-1', 'sample-caller-v1-5d2a'),
    PORT: '0',
    LOG_LEVEL: 'info',
    PRODUCER_CONNECT_TO: `${PRODUCER_HOST}:8080:127.0.0.1:${producerPort}`,
    PRODUCER_TIMEOUT_MS: '800',
    BREAKER_RESET_MS: '2000',
    TRACE_URL_TEMPLATE,
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await caller?.stop();
  await producer?.stop();
}, 30_000);

/** Rows of the "Who answered" table as [cluster, replica, calls, share, last second]. */
async function replicaRows(page: Page): Promise<string[][]> {
  return page.$$eval('#live-replicas tbody tr', (rows) =>
    rows.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent ?? '')),
  );
}

describe('live traffic view against the real caller and producer', { timeout: 120_000 }, () => {
  it('shows traffic, an outage opening the breaker (badge, chart, strip) and the heal', async () => {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 1100 } });
    const page = await context.newPage();
    const problems = watchProblems(page);
    await page.goto(caller!.url);

    // The badge knows the true state before any call: the event stream's first event.
    await page.waitForFunction(
      () => document.querySelector('#breaker')?.textContent === 'Circuit breaker: closed',
    );
    expect(await page.textContent('#events-state')).toBe('Breaker events: live.');

    await page.getByLabel('Calls per second').fill('20');
    await page.getByLabel('For (seconds)').fill('60');
    await page.click('#live-start');
    expect(await page.textContent('#live-status')).toBe('Running: 20 calls/s for 60 s.');

    // Traffic flows: the producer's replica shows up in the split, ok bars in the chart.
    await page.waitForFunction(
      () =>
        (document.querySelector('#live-replicas tbody tr td')?.textContent ?? '') === 'cluster-2',
      undefined,
      { timeout: 15_000 },
    );
    await page.waitForSelector('#live-outcomes rect.outcome-ok', { timeout: 15_000 });
    await page.waitForSelector('#live-latency polyline.p99', { timeout: 15_000 });
    const [row] = await replicaRows(page);
    expect(row?.slice(0, 2)).toEqual(['cluster-2', 'sample-producer-v1-7f9c']);
    expect(Number(row?.[2])).toBeGreaterThan(0);
    expect(row?.[3]).toBe('100 %');
    await screenshot(page, 'live-healthy-desktop');

    // Outage: the producer goes away. Failures open the breaker; the badge follows the event
    // stream without a click, and the chart shows calls failing and then refused.
    await producer!.stop();
    await page.waitForFunction(
      () => document.querySelector('#breaker')?.textContent === 'Circuit breaker: open',
      undefined,
      { timeout: 20_000 },
    );
    await page.waitForSelector('#live-outcomes rect.outcome-circuit_open', { timeout: 15_000 });
    await page.waitForSelector('#live-outcomes rect.outcome-unreachable', { timeout: 15_000 });
    await page.waitForSelector('#live-breaker-strip rect.state-open', { timeout: 15_000 });
    await page.waitForSelector('#live-topology .breaker-open', { timeout: 15_000 });
    expect(await page.getAttribute('#breaker', 'data-state')).toBe('open');
    // The picture says where calls stop: refused at the caller's breaker.
    const picture = (await page.getAttribute('#live-topology svg', 'aria-label')) ?? '';
    expect(picture).toMatch(/breaker open/);
    expect(picture).toMatch(/refused by the caller/);
    await page.waitForTimeout(1_500);
    await screenshot(page, 'live-outage-desktop');

    // Heal: the producer comes back on the same address; the next trial call closes the
    // breaker and answers flow again.
    producer = await startProducer();
    await page.waitForFunction(
      () => document.querySelector('#breaker')?.textContent === 'Circuit breaker: closed',
      undefined,
      { timeout: 20_000 },
    );
    await page.waitForSelector('#live-breaker-strip rect.state-closed', { timeout: 5_000 });
    // Answers in the latest whole second again, from the producer.
    await page.waitForFunction(
      () => {
        const cells = document.querySelectorAll('#live-replicas tbody tr td');
        return Number(cells[4]?.textContent ?? '0') > 0;
      },
      undefined,
      { timeout: 15_000 },
    );
    await page.waitForTimeout(2_500);
    const strip = await page.$$eval('#live-breaker-strip rect', (rects) =>
      rects.map((rect) => rect.getAttribute('class')),
    );
    // Closed, then open (and half-open trials), then closed again, in that order.
    const states = strip.map((c) => c?.replace('band state-', ''));
    expect(states[0]).toBe('closed');
    expect(states).toContain('open');
    expect(states.at(-1)).toBe('closed');
    await screenshot(page, 'live-healed-desktop');

    await page.click('#live-stop');
    expect(await page.textContent('#live-status')).toMatch(/^Stopped after \d+ calls/);
    expect(await page.isDisabled('#live-stop')).toBe(true);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('fits a 390 px phone in dark mode, is driven from the keyboard, and links the trace id', async () => {
    const context = await browser!.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      colorScheme: 'dark',
      isMobile: true,
      hasTouch: true,
      // What an ingress gateway adds in the mesh: the caller continues this trace, so its
      // envelope's traceId is the one below.
      extraHTTPHeaders: { traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` },
    });
    const page = await context.newPage();
    const problems = watchProblems(page);
    await page.goto(caller!.url);
    await page.waitForFunction(
      () => document.querySelector('#breaker')?.textContent === 'Circuit breaker: closed',
    );

    // Dark colours from prefers-color-scheme.
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe(
      'rgb(15, 20, 27)',
    );

    // Start from the keyboard: type a rate, Enter submits the live form.
    await page.focus('#liveRate');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('5');
    await page.focus('#liveDuration');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('4');
    await page.keyboard.press('Enter');
    expect(await page.textContent('#live-status')).toBe('Running: 5 calls/s for 4 s.');
    await page.waitForFunction(
      () => document.querySelector('#live-status')?.textContent?.startsWith('Done:') === true,
      undefined,
      { timeout: 20_000 },
    );
    await page.waitForSelector('#live-outcomes rect.outcome-ok');

    // A bad setting is named, not sent.
    await page.getByLabel('Calls per second').fill('500');
    await page.click('#live-start');
    expect(await page.textContent('#live-status')).toBe(
      'Rate must be a whole number from 1 to 100.',
    );
    expect(await page.getAttribute('#liveRate', 'aria-invalid')).toBe('true');

    // One call from the form: its trace id is a link built from TRACE_URL_TEMPLATE.
    await sendAndWait(page, 1, 20_000);
    const link = page.locator('#result a.trace-link');
    expect(await link.textContent()).toBe(TRACE_ID);
    expect(await link.getAttribute('href')).toBe(`http://127.0.0.1:16686/trace/${TRACE_ID}`);
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer');

    // No sideways scrolling, and the history's Breaker cell is on screen.
    const widths = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      client: document.documentElement.clientWidth,
    }));
    expect(widths.scroll).toBeLessThanOrEqual(widths.client);
    const breakerCell = await page
      .locator('#history tbody tr td.breaker-cell')
      .first()
      .boundingBox();
    expect(breakerCell).not.toBeNull();
    expect(breakerCell!.x + breakerCell!.width).toBeLessThanOrEqual(390);
    expect(await page.locator('#history tbody tr td').nth(2).getAttribute('data-label')).toBe(
      'Producer status',
    );
    await screenshot(page, 'live-phone-dark');
    await page
      .locator('section.live')
      .screenshot({ path: `${ARTIFACTS_DIR}live-phone-dark-view.png` });
    await page
      .locator('#history')
      .screenshot({ path: `${ARTIFACTS_DIR}live-phone-dark-history.png` });
    expect(problems).toEqual([]);
    await context.close();
  });
});
