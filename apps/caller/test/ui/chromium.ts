/// <reference lib="dom" />
// Debian's Chromium driven by playwright-core (never a downloaded browser), plus what every
// browser test of the UI watches for.
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
];
/** Screenshots land here (gitignored). */
export const ARTIFACTS_DIR = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

/**
 * Collects dialogs (an alert() from injected markup would show up here), page errors and console
 * errors. Chromium logs each non-2xx fetch as "Failed to load resource: … status of 504"; the
 * caller answers 4xx/5xx by design, so only those logs for its own endpoint are expected.
 */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('dialog', (dialog) => {
    problems.push(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const expected =
      message.location().url.endsWith('/caller/messages') &&
      message.text().startsWith('Failed to load resource');
    if (!expected) problems.push(`console: ${message.text()}`);
  });
  return problems;
}

/** Clicks Send and waits until `calls` more history rows are there and the form is free again. */
export async function sendAndWait(page: Page, calls = 1, timeoutMs = 20_000): Promise<void> {
  const before = await page.locator('#history tbody tr').count();
  await page.click('#send');
  await page.waitForFunction(
    (n) => document.querySelectorAll('#history tbody tr').length === n,
    Math.min(20, before + calls),
    { timeout: timeoutMs },
  );
  await page.waitForSelector('#send:not([disabled])', { timeout: timeoutMs });
}

/** The outcome column of the history, newest first. */
export function historyOutcomes(page: Page): Promise<string[]> {
  return page.locator('#history tbody tr td.outcome-cell').allTextContents();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  await page.screenshot({ path: `${ARTIFACTS_DIR}${name}.png`, fullPage: true });
}
