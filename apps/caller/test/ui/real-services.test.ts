/// <reference lib="dom" />
// The UI in Chromium against the real built caller and producer processes (node dist/server.js),
// on loopback: an answer with the producer's identity, a timeout streak opening the breaker,
// a refused call, and the breaker closing again after its reset time.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
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

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Service {
  process: ChildProcess;
  output: string[];
  url: string;
}

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

async function startService(script: string, env: Record<string, string>): Promise<Service> {
  if (!existsSync(script)) {
    throw new Error(`${script} is missing: build the apps first (pnpm build)`);
  }
  const port = await freePort();
  const output: string[] = [];
  const child = spawn(process.execPath, ['--enable-source-maps', script], {
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      SHUTDOWN_DELAY_MS: '0',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    const ready = await fetch(`${url}readyz`).then(
      (response) => response.status === 200,
      () => false,
    );
    if (ready) return { process: child, output, url };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`${script} did not become ready:\n${output.join('')}`);
}

async function stopService(service: Service | undefined): Promise<void> {
  if (!service || service.process.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => service.process.once('exit', () => resolve()));
  service.process.kill('SIGTERM');
  const timer = setTimeout(() => service.process.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

let browser: Browser | undefined;
let producer: Service | undefined;
let caller: Service | undefined;

beforeAll(async () => {
  producer = await startService(PRODUCER_SERVER, {
    ...identity('cluster-central', 'us-central1-a', 'sample-producer-test'),
  });
  caller = await startService(CALLER_SERVER, {
    ...identity('cluster-west', 'us-west1-a', 'sample-caller-test'),
    PRODUCER_URL: producer.url.slice(0, -1),
    PRODUCER_TIMEOUT_MS: String(PRODUCER_TIMEOUT_MS),
    BREAKER_FAILURE_THRESHOLD: '3',
    BREAKER_RESET_MS: String(BREAKER_RESET_MS),
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stopService(caller);
  await stopService(producer);
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
