// What the caller echoes and what it passes on: credentials redacted in callerHeaders and
// producerHeaders (docs/contract.md, "Echoed headers"); a client's baggage and an oversized
// tracestate stop at the caller.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { boundedTracestate } from '../src/trace.js';
import { buildTestCaller } from './helpers.js';

let caller: FastifyInstance | undefined;
let upstream: Server | undefined;
afterEach(async () => {
  await caller?.close();
  await new Promise((resolve) => (upstream ? upstream.close(resolve) : resolve(undefined)));
  caller = undefined;
  upstream = undefined;
});

const SECRETS: Record<string, string> = {
  authorization: 'Bearer s3cret',
  'proxy-authorization': 'Basic s3cret',
  cookie: 'a=s3cret',
  'x-auth-token': 's3cret',
  'x-client-secret': 's3cret',
  'x-api-key': 's3cret',
  apikey: 's3cret',
  'x-jwt': 's3cret',
  'x-session-id': 's3cret',
  'x-credential': 's3cret',
  'x-password': 's3cret',
  'x-goog-iap-jwt-assertion': 's3cret',
  'x-amz-security-token': 's3cret',
};
const XFCC =
  'By=spiffe://p;Hash=s3cret;Cert="s3cret";Chain="s3cret";Subject="CN=c";URI=spiffe://c;DNS=c';
const XFCC_REDACTED =
  'By=spiffe://p;Hash=[redacted];Cert=[redacted];Chain=[redacted];Subject="CN=c";URI=spiffe://c;DNS=c';

/** A stand-in producer that records what it got and echoes credentials, as a careless one would. */
async function startEchoingProducer(seen: IncomingHttpHeaders[]): Promise<number> {
  upstream = createServer((request, response) => {
    seen.push(request.headers);
    request.resume();
    request.on('end', () => {
      response.setHeader('content-type', 'application/json');
      response.end(
        JSON.stringify({
          id: 'm',
          received: 'p',
          metadata: { service: 'stand-in' },
          headers: {
            ...SECRETS,
            'set-cookie': ['a=s3cret', 'b=s3cret'],
            'x-forwarded-client-cert': XFCC,
            'x-request-id': 'kept',
          },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => upstream!.listen(0, '127.0.0.1', resolve));
  return (upstream.address() as AddressInfo).port;
}

async function send(headers: Record<string, string>) {
  return caller!.inject({
    method: 'POST',
    url: '/caller/messages',
    headers: { 'content-type': 'application/json', ...headers },
    payload: JSON.stringify({ id: 'm', payload: 'p' }),
  });
}

describe('echoed headers', () => {
  it('redacts every listed credential in callerHeaders and producerHeaders, names kept', async () => {
    const seen: IncomingHttpHeaders[] = [];
    caller = await buildTestCaller(await startEchoingProducer(seen));
    const response = await send({ ...SECRETS, 'x-forwarded-client-cert': XFCC });
    expect(response.statusCode).toBe(200);
    const envelope = response.json<{
      callerHeaders: Record<string, unknown>;
      producerHeaders: Record<string, unknown>;
    }>();
    for (const name of Object.keys(SECRETS)) {
      expect(envelope.callerHeaders[name], `callerHeaders ${name}`).toBe('[redacted]');
      expect(envelope.producerHeaders[name], `producerHeaders ${name}`).toBe('[redacted]');
    }
    expect(envelope.callerHeaders['x-forwarded-client-cert']).toBe(XFCC_REDACTED);
    expect(envelope.producerHeaders['x-forwarded-client-cert']).toBe(XFCC_REDACTED);
    expect(envelope.producerHeaders['set-cookie']).toEqual(['[redacted]', '[redacted]']);
    expect(envelope.producerHeaders['x-request-id']).toBe('kept');
    expect(response.body).not.toContain('s3cret');
    // None of the client's credentials is passed on to the producer either.
    expect(JSON.stringify(seen)).not.toContain('s3cret');
  });
});

describe('trace context from outside the mesh', () => {
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  it('passes a tracestate within 32 members / 512 chars on, and never a client baggage', async () => {
    const seen: IncomingHttpHeaders[] = [];
    caller = await buildTestCaller(await startEchoingProducer(seen));
    const tracestate = Array.from({ length: 32 }, (_, i) => `v${i}=x`).join(',');
    await send({ traceparent, tracestate, baggage: 'user=alice,tenant=acme' });
    expect(seen[0]?.['traceparent']).toBe(traceparent);
    expect(seen[0]?.['tracestate']).toBe(tracestate);
    expect(seen[0]).not.toHaveProperty('baggage');
  });

  it('drops an oversized tracestate (≈ 8 KB, or 33 members) and an 8 KB baggage', async () => {
    const seen: IncomingHttpHeaders[] = [];
    caller = await buildTestCaller(await startEchoingProducer(seen));
    const huge = Array.from({ length: 180 }, (_, i) => `vendor${i}=${'x'.repeat(40)}`).join(',');
    await send({ traceparent, tracestate: huge, baggage: huge });
    await send({
      traceparent,
      tracestate: Array.from({ length: 33 }, (_, i) => `v${i}=x`).join(','),
    });
    expect(seen).toHaveLength(2);
    for (const headers of seen) {
      expect(headers['traceparent']).toBe(traceparent);
      expect(headers).not.toHaveProperty('tracestate');
      expect(headers).not.toHaveProperty('baggage');
    }
  });

  it('boundedTracestate keeps exactly the W3C propagation bound', () => {
    expect(boundedTracestate('a=1'.padEnd(512, ' '))).toBeDefined();
    expect(boundedTracestate('a=1'.padEnd(513, ' '))).toBeUndefined();
    expect(boundedTracestate(['a=1', 'b=2'])).toBeUndefined();
    expect(boundedTracestate(' , ')).toBeUndefined();
  });
});
