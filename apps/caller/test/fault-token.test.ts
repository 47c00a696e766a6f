// FAULT_INJECTION_TOKEN (docs/contract.md, "Fault knobs"): with a token set, delay/responseCode
// pass only with the right x-fault-injection-token header; without one, they are open.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { faultTokenGuard, usesFaultKnobs } from '../src/fault-token.js';
import { buildTestCaller, startProducer, type RunningProducer } from './helpers.js';

let caller: FastifyInstance | undefined;
let producer: RunningProducer | undefined;
afterEach(async () => {
  await caller?.close();
  await producer?.app.close();
  caller = undefined;
  producer = undefined;
});

const TOKEN = 'operator-secret-1';

async function startCaller(env: Record<string, string>): Promise<string> {
  producer = await startProducer();
  caller = await buildTestCaller(producer.port, env);
  await caller.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(caller.server.address() as AddressInfo).port}`;
}

async function post(origin: string, body: object, headers: Record<string, string> = {}) {
  const response = await request(`${origin}/caller/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: response.statusCode,
    type: response.headers['content-type'],
    body: (await response.body.json()) as Record<string, unknown>,
  };
}

describe('fault knobs behind FAULT_INJECTION_TOKEN', () => {
  it('answers 403 problem+json naming the header and sends nothing without the right token', async () => {
    const origin = await startCaller({ FAULT_INJECTION_TOKEN: TOKEN });
    const knobs = [{ responseCode: 500 }, { delay: 10 }, { delay: 5, responseCode: 200 }];
    const tokens: Array<Record<string, string>> = [
      {},
      { 'x-fault-injection-token': 'wrong' },
      { 'x-fault-injection-token': `${TOKEN}x` },
      { 'x-fault-injection-token': TOKEN.slice(0, -1) },
      { 'x-fault-injection-token': '' },
    ];
    for (const body of knobs) {
      for (const headers of tokens) {
        const answer = await post(origin, { payload: 'p', ...body }, headers);
        expect(answer.status, JSON.stringify({ body, headers })).toBe(403);
        expect(answer.type).toMatch(/^application\/problem\+json/);
        expect(answer.body).toMatchObject({
          type: 'about:blank',
          status: 403,
          field: 'x-fault-injection-token',
        });
      }
    }
    expect(producer!.received()).toBe(0);
  });

  it('passes the knobs with the right token, and calls without knobs need none', async () => {
    const origin = await startCaller({ FAULT_INJECTION_TOKEN: TOKEN });
    const faulted = await post(
      origin,
      { payload: 'p', responseCode: 500 },
      { 'x-fault-injection-token': TOKEN },
    );
    expect(faulted.status).toBe(502);
    expect(faulted.body).toMatchObject({ outcome: 'upstream_error', statusCode: 500 });
    // The token itself is echoed only as redacted.
    expect(
      (faulted.body['callerHeaders'] as Record<string, string>)['x-fault-injection-token'],
    ).toBe('[redacted]');
    const plain = await post(origin, { payload: 'p', delay: 0, responseCode: 200 });
    expect(plain.status).toBe(200);
    expect(plain.body).toMatchObject({ outcome: 'ok', received: 'p' });
    expect(producer!.received()).toBe(2);
  });

  it('leaves the knobs open when the token is unset or empty (the pnpm start default)', async () => {
    const origin = await startCaller({ FAULT_INJECTION_TOKEN: '' });
    const answer = await post(origin, { payload: 'p', responseCode: 503 });
    expect(answer.status).toBe(502);
    expect(answer.body).toMatchObject({ outcome: 'upstream_error', statusCode: 503 });
  });
});

describe('faultTokenGuard', () => {
  it('treats only delay ≠ 0 or responseCode ≠ 200 as using the knobs', () => {
    expect(usesFaultKnobs({})).toBe(false);
    expect(usesFaultKnobs({ delay: 0, responseCode: 200 })).toBe(false);
    expect(usesFaultKnobs({ delay: 1 })).toBe(true);
    expect(usesFaultKnobs({ responseCode: 201 })).toBe(true);
  });

  it('refuses a repeated header even when one value is right', () => {
    const guard = faultTokenGuard(TOKEN);
    expect(() => guard.assertAllowed({ delay: 1 }, [TOKEN, 'x'])).toThrow(
      /x-fault-injection-token/,
    );
    expect(() => guard.assertAllowed({ delay: 1 }, TOKEN)).not.toThrow();
  });
});
