/// <reference lib="dom" />
// The UI in Debian's Chromium (driven by playwright-core), against a scripted stand-in caller.
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  historyOutcomes,
  launchChromium,
  screenshot,
  sendAndWait as send,
  watchProblems,
} from './chromium.js';
import {
  XSS_IMG,
  XSS_SCRIPT,
  XSS_SVG,
  circuitOpenEnvelope,
  hostileEnvelope,
  okEnvelope,
  timeoutEnvelope,
} from './envelopes.js';
import { startScriptedCaller } from './scripted-caller.js';
import type { ScriptedCaller, ScriptedResponse } from './scripted-caller.js';

const okAnswer = (): ScriptedResponse => ({ status: 200, body: okEnvelope() });

interface OpenedPage {
  page: Page;
  /** Dialogs, page errors and unexpected console errors seen: a clean page has none. */
  problems: string[];
}

let browser: Browser;
const servers: ScriptedCaller[] = [];

async function serve(prefix = '/', fallback = okAnswer): Promise<ScriptedCaller> {
  const server = await startScriptedCaller(prefix, fallback);
  servers.push(server);
  return server;
}

async function open(url: string, options: BrowserContextOptions = {}): Promise<OpenedPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  const page = await context.newPage();
  const problems = watchProblems(page);
  await page.goto(url);
  return { page, problems };
}

beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);

afterEach(async () => {
  for (const context of browser.contexts()) await context.close();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

afterAll(async () => {
  await browser?.close();
});

describe('caller UI in Chromium', { timeout: 60_000 }, () => {
  it('shows an answer, then a timeout streak opening the breaker and its closing, in the history', async () => {
    const server = await serve();
    const { page, problems } = await open(server.url);

    expect(await page.getByLabel('Payload').inputValue()).toBe('hello');
    expect(await page.getByLabel('Delay (ms)').inputValue()).toBe('0');
    expect(await page.getByLabel('Response code').inputValue()).toBe('200');
    expect(await page.getByLabel('Send times').inputValue()).toBe('1');
    expect(await page.textContent('#breaker')).toContain('not known yet');

    await send(page);
    expect(server.received).toEqual([{ payload: 'hello', delay: 0, responseCode: 200 }]);
    expect(await page.textContent('#outcome')).toBe('Producer answered');
    const result = (await page.textContent('#result')) ?? '';
    for (const expected of [
      'req-ok-1',
      'hello',
      '12 ms',
      'cluster-west',
      'us-west1-a',
      'cluster-central',
      'us-central1-a',
      'sample-producer-5c6b7-fghij',
      '10.20.1.7',
    ]) {
      expect(result).toContain(expected);
    }
    expect(await page.textContent('#breaker')).toBe('Circuit breaker: closed');

    // Three timeouts open the breaker; the next two calls are refused without a request.
    server.script.push(
      { status: 504, body: timeoutEnvelope('t1', 'closed') },
      { status: 504, body: timeoutEnvelope('t2', 'closed') },
      { status: 504, body: timeoutEnvelope('t3', 'open') },
      { status: 503, body: circuitOpenEnvelope('o1') },
      { status: 503, body: circuitOpenEnvelope('o2') },
    );
    await page.getByLabel('Delay (ms)').fill('5000');
    await page.getByLabel('Send times').fill('5');
    await send(page, 5);
    expect(server.received.slice(1)).toEqual(
      Array.from({ length: 5 }, () => ({ payload: 'hello', delay: 5000, responseCode: 200 })),
    );
    expect(await page.textContent('#outcome')).toBe('Circuit breaker open: request not sent');
    expect(await page.textContent('#breaker')).toBe('Circuit breaker: open');
    expect(await page.getAttribute('#breaker', 'data-state')).toBe('open');
    expect(await historyOutcomes(page)).toEqual([
      'Breaker open, not sent',
      'Breaker open, not sent',
      'Timed out',
      'Timed out',
      'Timed out',
      'Answered',
    ]);
    expect(await page.locator('#history tbody tr').first().locator('td').allTextContents()).toEqual(
      [
        expect.stringMatching(/^\d\d:\d\d:\d\d\.\d{3}$/),
        'Breaker open, not sent',
        // Nothing was sent, so the producer has no status; the caller answered 503.
        '—',
        '503',
        '0.2 ms',
        'open',
      ],
    );
    expect(await page.textContent('#progress')).toBe('Done: 5 calls.');
    await screenshot(page, 'breaker-open-desktop');

    // The trial call after the reset time succeeds and the breaker closes again.
    await page.getByLabel('Delay (ms)').fill('0');
    await page.getByLabel('Send times').fill('1');
    server.script.push({ status: 200, body: okEnvelope('after-reset') });
    await send(page);
    expect(await page.textContent('#breaker')).toBe('Circuit breaker: closed');
    expect((await historyOutcomes(page))[0]).toBe('Answered');
    await screenshot(page, 'breaker-closed-again-desktop');

    expect(problems).toEqual([]);
    expect(server.notFound).toEqual([]);
  });

  it('shows a hostile payload and hostile metadata and headers as text, running nothing', async () => {
    const server = await serve();
    const { page, problems } = await open(server.url);
    await page.getByLabel('Payload').fill(XSS_IMG);
    server.script.push({ status: 200, body: hostileEnvelope() });
    await send(page);
    await page
      .locator('#result details')
      .evaluateAll((all) =>
        all.forEach((details) => ((details as HTMLDetailsElement).open = true)),
      );

    expect(server.received).toEqual([{ payload: XSS_IMG, delay: 0, responseCode: 200 }]);
    const result = (await page.textContent('#result')) ?? '';
    for (const literal of [XSS_IMG, XSS_SCRIPT, XSS_SVG, '<b>bold</b>']) {
      expect(result).toContain(literal);
    }
    // The live view draws its own SVG charts; none may come from the hostile data.
    expect(
      await page.locator('img, #result svg, #history svg, #result script, #result b').count(),
    ).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned)).toBe(
      undefined,
    );
    await screenshot(page, 'hostile-payload-desktop');
    expect(problems).toEqual([]);
    expect(server.notFound).toEqual([]);
  });

  it('checks ranges in the browser and shows the caller’s problem+json detail and field', async () => {
    const server = await serve();
    const { page, problems } = await open(server.url);

    await page.getByLabel('Delay (ms)').fill('40000');
    await page.click('#send');
    expect(
      await page.$eval('#delay', (input) => (input as HTMLInputElement).validity.rangeOverflow),
    ).toBe(true);
    await page.getByLabel('Delay (ms)').fill('0');
    await page.getByLabel('Response code').fill('99');
    await page.click('#send');
    expect(
      await page.$eval(
        '#responseCode',
        (input) => (input as HTMLInputElement).validity.rangeUnderflow,
      ),
    ).toBe(true);
    expect(server.received).toEqual([]);

    await page.getByLabel('Response code').fill('200');
    await page.getByLabel('Delay (ms)').fill('25000');
    server.script.push({
      status: 400,
      contentType: 'application/problem+json',
      body: {
        type: 'about:blank',
        title: 'Bad Request',
        status: 400,
        detail: 'delay must be at most MAX_DELAY_MS (20000)',
        field: 'delay',
      },
    });
    await send(page);
    expect(await page.textContent('#outcome')).toBe('The caller refused the request: Bad Request');
    const result = (await page.textContent('#result')) ?? '';
    expect(result).toContain('delay must be at most MAX_DELAY_MS (20000)');
    expect(result).toMatch(/Field\s*delay/);
    expect((await historyOutcomes(page))[0]).toBe('Refused: Bad Request');
    await screenshot(page, 'problem-json-desktop');
    expect(problems).toEqual([]);
  });

  it('sends the fault-injection token as a header and keeps it for this tab only', async () => {
    const server = await serve();
    const { page, problems } = await open(server.url);
    expect(await page.getByLabel('Fault-injection token').inputValue()).toBe('');
    await send(page);
    await page.getByLabel('Fault-injection token').fill('operator-token');
    await send(page);
    expect(server.faultTokens).toEqual([undefined, 'operator-token']);

    // The same tab keeps it across a reload; another tab of the same browser does not see it.
    await page.reload();
    expect(await page.getByLabel('Fault-injection token').inputValue()).toBe('operator-token');
    const otherTab = await page.context().newPage();
    await otherTab.goto(server.url);
    expect(await otherTab.getByLabel('Fault-injection token').inputValue()).toBe('');
    expect(await otherTab.evaluate(() => JSON.stringify({ ...window.localStorage }))).not.toContain(
      'operator-token',
    );
    expect(problems).toEqual([]);
  });

  it('says plainly when the caller cannot be reached', async () => {
    // Every answer is a closed socket: Chromium retries a POST whose reused socket closes.
    const server = await serve('/', () => ({ status: 0, body: null, destroy: true }));
    const { page, problems } = await open(server.url);
    await send(page);
    expect(await page.textContent('#outcome')).toBe(
      'Network error: the caller could not be reached',
    );
    expect((await historyOutcomes(page))[0]).toBe('Network error');
    expect(problems).toEqual([]);
  });

  it('works under a path prefix on a phone, in dark mode', async () => {
    const server = await serve('/some/prefix/');
    const { page, problems } = await open(server.url, {
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      colorScheme: 'dark',
    });
    server.script.push(
      { status: 200, body: okEnvelope() },
      { status: 504, body: timeoutEnvelope('t1', 'closed') },
    );
    await page.getByLabel('Send times').fill('2');
    await send(page, 2);
    expect(server.received).toHaveLength(2);
    expect(await page.textContent('#outcome')).toBe('Timed out waiting for the producer');
    expect(await historyOutcomes(page)).toEqual(['Timed out', 'Answered']);
    // Relative URLs: the stylesheet, module and icon all came from under the prefix.
    expect(server.notFound).toEqual([]);
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).not.toBe(
      'rgb(255, 255, 255)',
    );
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(page, 'prefix-phone-dark');
    expect(problems).toEqual([]);
  });
});
