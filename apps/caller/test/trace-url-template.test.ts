// TRACE_URL_TEMPLATE: checked at start-up (a clear error naming the variable, never a page that
// links nowhere), and told to the page through GET /ui-config.json.
import { fileURLToPath } from 'node:url';
import { spawnNodeService } from '@s2s/test-support/node-service';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { loadCallerConfig } from '../src/config.js';
import { CALLER_IDENTITY_ENV, buildTestCaller, stoppedPort } from './helpers.js';

let caller: FastifyInstance | undefined;
afterEach(async () => {
  await caller?.close();
  caller = undefined;
});

describe('TRACE_URL_TEMPLATE', () => {
  it('accepts empty (no links) and an http(s) URL with {traceId}', () => {
    expect(loadCallerConfig({}).TRACE_URL_TEMPLATE).toBe('');
    for (const template of [
      'http://127.0.0.1:16686/trace/{traceId}',
      'https://console.cloud.google.com/traces/list?tid={traceId}&project=p',
    ]) {
      expect(loadCallerConfig({ TRACE_URL_TEMPLATE: template }).TRACE_URL_TEMPLATE).toBe(template);
    }
  });

  it.each([
    ['https://jaeger.example/trace/', /TRACE_URL_TEMPLATE must contain \{traceId\}/],
    ['/trace/{traceId}', /TRACE_URL_TEMPLATE must be an absolute http\(s\) URL/],
    ['javascript:alert({traceId})', /TRACE_URL_TEMPLATE must be an http: or https: URL/],
    ['ftp://x/{traceId}', /TRACE_URL_TEMPLATE must be an http: or https: URL/],
  ])('refuses %s, naming the variable', (template, message) => {
    expect(() => loadCallerConfig({ TRACE_URL_TEMPLATE: template })).toThrow(message);
  });

  it('stops the built caller at start-up with the variable named on stderr', async () => {
    const spawned = spawnNodeService({
      args: [fileURLToPath(new URL('../dist/server.js', import.meta.url))],
      env: {
        PATH: process.env.PATH ?? '',
        ...CALLER_IDENTITY_ENV,
        HOST: '127.0.0.1',
        PORT: '0',
        TRACE_URL_TEMPLATE: 'https://jaeger.example/trace/',
      },
    });
    expect(await spawned.exit).not.toBe(0);
    expect(spawned.stderr()).toContain('TRACE_URL_TEMPLATE must contain {traceId}');
    expect(spawned.stderr()).not.toMatch(/^\s+at /m);
  });

  it('is told to the page by GET /ui-config.json (null when unset)', async () => {
    const template = 'https://jaeger.example/trace/{traceId}';
    caller = await buildTestCaller(await stoppedPort(), { TRACE_URL_TEMPLATE: template });
    const set = await caller.inject({ url: '/ui-config.json' });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toEqual({ traceUrlTemplate: template });
    await caller.close();
    caller = await buildTestCaller(await stoppedPort());
    expect((await caller.inject({ url: '/ui-config.json' })).json()).toEqual({
      traceUrlTemplate: null,
    });
  });
});
