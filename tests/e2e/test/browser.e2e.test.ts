import path from 'node:path';
import type { ClusterSet } from '@s2s/clusterset-sim';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchChromium } from '../src/browser.js';
import { artifactsDir, startSimulation, stopSimulation } from '../src/simulation.js';

const PRODUCER_TIMEOUT_MS = 1000;

describe('the caller UI in a browser, through the ingress gateway', () => {
  let sim: ClusterSet;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    sim = await startSimulation({
      callerEnv: {
        PRODUCER_TIMEOUT_MS: String(PRODUCER_TIMEOUT_MS),
        BREAKER_FAILURE_THRESHOLD: '3',
        BREAKER_RESET_MS: '60000',
      },
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await stopSimulation('browser');
  });
  beforeEach(async () => {
    await page?.close();
    page = await browser.newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('dialog', (dialog) => {
      pageErrors.push(`dialog opened: ${dialog.message()}`);
      void dialog.dismiss();
    });
    await page.goto(`${sim.gatewayUrl}/`);
  });

  async function send(fields: {
    payload?: string;
    delay?: number;
    responseCode?: number;
    times?: number;
  }) {
    if (fields.payload !== undefined) await page.getByLabel('Payload').fill(fields.payload);
    await page.getByLabel('Delay (ms)').fill(String(fields.delay ?? 0));
    await page.getByLabel('Response code').fill(String(fields.responseCode ?? 200));
    await page.getByLabel('Send times').fill(String(fields.times ?? 1));
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    const times = fields.times ?? 1;
    await expect
      .poll(() => page.locator('#progress').textContent(), { timeout: 30_000 })
      .toMatch(new RegExp(`Done: ${times} call`));
  }

  const screenshot = (name: string) =>
    page.screenshot({
      path: path.join(artifactsDir('screenshots'), `${name}.png`),
      fullPage: true,
    });

  it('shows the producer metadata of the exporting cluster that answered a normal message', async () => {
    await send({ payload: 'hello from the browser' });
    const result = page.locator('#result');
    await expect.poll(() => result.locator('article').getAttribute('data-outcome')).toBe('ok');
    await expect.poll(() => page.locator('#outcome').textContent()).toBe('Producer answered');
    const producerCard = result.locator('section.metadata', {
      has: page.getByRole('heading', { name: 'Producer' }),
    });
    // The ClusterSetIP spreads calls over cluster-2 and cluster-3: either may answer, but the
    // card must name one of them with that cluster's own zone.
    const field = (label: string) =>
      producerCard
        .locator('div.fact', { has: page.locator('dt', { hasText: new RegExp(`^${label}$`) }) })
        .locator('dd')
        .textContent({ timeout: 5_000 });
    await expect.poll(() => field('Cluster')).toMatch(/\S/);
    const shown = { name: await field('Cluster'), location: await field('Zone') };
    expect(
      sim.topology.producerClusters.map(({ name, location }) => ({ name, location })),
    ).toContainEqual(shown);
    expect(await result.textContent()).toContain('hello from the browser');
    await screenshot('normal-message');
    expect(pageErrors).toEqual([]);
  });

  it('shows a timeout when the delay is above the caller timeout', async () => {
    await send({ payload: 'slow', delay: PRODUCER_TIMEOUT_MS + 1000 });
    await expect
      .poll(() => page.locator('#outcome').textContent())
      .toBe('Timed out waiting for the producer');
    await screenshot('timeout');
  });

  it('shows a hostile payload as text and runs none of it', async () => {
    const hostile = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>"'><svg onload=alert(3)>`;
    await send({ payload: hostile });
    await expect.poll(() => page.locator('#outcome').textContent()).toBe('Producer answered');
    const result = page.locator('#result');
    expect(await result.textContent()).toContain(hostile);
    expect(await result.locator('img, script, svg').count()).toBe(0);
    expect(
      await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned),
    ).toBeUndefined();
    await screenshot('hostile-payload');
    expect(pageErrors).toEqual([]);
  });

  it('opens the circuit breaker after the producer answers 500 three times', async () => {
    await send({ payload: 'reset the failure count' });
    await expect.poll(() => page.locator('#outcome').textContent()).toBe('Producer answered');
    await send({ payload: 'fail', responseCode: 500, times: 3 });
    await expect
      .poll(() => page.getByRole('status').filter({ hasText: 'Circuit breaker' }).textContent())
      .toBe('Circuit breaker: open');
    await expect
      .poll(() => page.locator('#outcome').textContent())
      .toBe('Producer answered with an error status 500');
    await send({ payload: 'now refused' });
    await expect
      .poll(() => page.locator('#outcome').textContent())
      .toBe('Circuit breaker open: request not sent');
    await screenshot('breaker-open');
  });
});
