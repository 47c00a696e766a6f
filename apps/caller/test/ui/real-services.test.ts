/// <reference lib="dom" />
// The UI in Chromium against the real built caller and producer processes (node dist/server.js),
// on loopback: an answer with the producer's identity, a timeout streak opening the breaker,
// a refused call, and the breaker closing again after its reset time.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startNodeService, type StartedNodeService } from '@s2s/test-support/node-service';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  historyOutcomes,
  launchChromium,
  screenshot,
  sendAndWait,
  watchProblems,
} from './chromium.js';
const CALLER_SERVER = fileURLToPath(new URL('../../dist/server.js', import.meta.url));
const PRODUCER_SERVER = fileURLToPath(new URL('../../../producer/dist/server.js', import.meta.url));

const PRODUCER_TIMEOUT_MS = 800;
const BREAKER_RESET_MS = 2_000;

function identity(cluster: string, location: string, pod: string): Record<string, string> {
  // Set in full so no lookup of the GKE metadata server is tried from the test machine.
  return {
    CLUSTER_NAME: cluster,
    CLUSTER_LOCATION: location,
    POD_NAME: pod,
    POD_IP: '127.0.0.1',
    APP_VERSION: 'v-test',
  };
}

async function startService(script: string, env: Record<string, string>) {
  if (!existsSync(script)) {
    throw new Error(`${script} is missing: build the apps first (pnpm build)`);
  }
  return startNodeService({
    args: ['--enable-source-maps', script],
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: '0',
      SHUTDOWN_DELAY_MS: '0',
      // info: the listening line says where the service is.
      LOG_LEVEL: 'info',
      ...env,
    },
  });
}

let browser: Browser | undefined;
let producer: StartedNodeService | undefined;
let caller: StartedNodeService | undefined;

beforeAll(async () => {
  producer = await startService(PRODUCER_SERVER, {
    ...identity('cluster-central', 'us-central1-a', 'sample-producer-test'),
  });
  caller = await startService(CALLER_SERVER, {
    ...identity('cluster-west', 'us-west1-a', 'sample-caller-test'),
    PRODUCER_URL: producer.url,
    PRODUCER_TIMEOUT_MS: String(PRODUCER_TIMEOUT_MS),
    BREAKER_FAILURE_THRESHOLD: '3',
    BREAKER_RESET_MS: String(BREAKER_RESET_MS),
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await caller?.stop();
  await producer?.stop();
}, 30_000);

describe('caller UI against the real caller and producer', { timeout: 90_000 }, () => {
  it('shows the producer’s identity, a timeout streak opening the breaker, and its recovery', async () => {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems = watchProblems(page);
    await page.goto(caller!.url);

    // A hostile payload through both real hops comes back as text.
    const hostile = '<img src=x onerror="window.__pwned=1">';
    await page.getByLabel('Payload').fill(hostile);
    await sendAndWait(page, 1, 30_000);
    expect(await page.textContent('#outcome')).toBe('Producer answered');
    const result = (await page.textContent('#result')) ?? '';
    for (const expected of [
      hostile,
      'cluster-west',
      'us-west1-a',
      'sample-caller-test',
      'cluster-central',
      'us-central1-a',
      'sample-producer-test',
    ]) {
      expect(result).toContain(expected);
    }
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.textContent('#breaker')).toBe('Circuit breaker: closed');

    // Delays above the caller's timeout: three timeouts open the breaker, the fourth call is
    // refused without a request.
    await page.getByLabel('Payload').fill('slow');
    await page.getByLabel('Delay (ms)').fill(String(PRODUCER_TIMEOUT_MS * 3));
    await page.getByLabel('Send times').fill('4');
    await sendAndWait(page, 4, 30_000);
    expect(await historyOutcomes(page)).toEqual([
      'Breaker open, not sent',
      'Timed out',
      'Timed out',
      'Timed out',
      'Answered',
    ]);
    expect(await page.textContent('#breaker')).toBe('Circuit breaker: open');
    expect(await page.textContent('#outcome')).toBe('Circuit breaker open: request not sent');
    await screenshot(page, 'real-services-breaker-open');

    // After the reset time one trial call goes through; it succeeds and the breaker closes.
    await page.waitForTimeout(BREAKER_RESET_MS + 500);
    await page.getByLabel('Delay (ms)').fill('0');
    await page.getByLabel('Send times').fill('1');
    await sendAndWait(page, 1, 30_000);
    expect(await page.textContent('#outcome')).toBe('Producer answered');
    expect(await page.textContent('#breaker')).toBe('Circuit breaker: closed');
    await screenshot(page, 'real-services-recovered');

    expect(problems).toEqual([]);
    await context.close();
  });
});
