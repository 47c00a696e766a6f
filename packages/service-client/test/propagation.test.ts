import { ROOT_CONTEXT, TraceFlags, propagation, trace } from '@opentelemetry/api';
import type { TextMapPropagator } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { createServiceClient } from '../src/index.js';
import type { ServiceClient } from '../src/index.js';
import { json, readBody, startTestServer } from './test-server.js';
import type { TestServer } from './test-server.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** Stands in for the SDK's W3C propagator: whatever is registered globally is what gets injected. */
const fixedTraceparent: TextMapPropagator = {
  inject: (_context, carrier, setter) => setter.set(carrier, 'traceparent', TRACEPARENT),
  extract: (context) => context,
  fields: () => ['traceparent'],
};

let server: TestServer;
let client: ServiceClient;

afterEach(async () => {
  propagation.disable();
  await client?.close();
  await server?.close();
});

describe('context propagation', () => {
  it('injects trace context through the OpenTelemetry API and sends x-request-id', async () => {
    server = await startTestServer((req, res) =>
      json(res, 200, {
        traceparent: req.headers.traceparent,
        requestId: req.headers['x-request-id'],
      }),
    );
    client = createServiceClient({ origin: `http://127.0.0.1:${server.port}` });
    propagation.setGlobalPropagator(fixedTraceparent);

    const result = await client.call({ path: '/', requestId: 'req-7' });

    expect(result.body).toEqual({ traceparent: TRACEPARENT, requestId: 'req-7' });
  });

  it('sends no trace headers when no propagator is registered', async () => {
    server = await startTestServer((req, res) =>
      json(res, 200, { traceparent: req.headers.traceparent ?? null }),
    );
    client = createServiceClient({ origin: `http://127.0.0.1:${server.port}` });

    const result = await client.call({ path: '/' });

    expect(result.body).toEqual({ traceparent: null });
  });

  it('without a propagator, writes the given context as W3C traceparent (no SDK: the parent unchanged)', async () => {
    server = await startTestServer((req, res) =>
      json(res, 200, { traceparent: req.headers.traceparent ?? null }),
    );
    client = createServiceClient({ origin: `http://127.0.0.1:${server.port}` });
    const traceContext = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });

    const result = await client.call({ path: '/', traceContext });

    expect(result.body).toEqual({ traceparent: TRACEPARENT });
  });

  it('owns the trace headers: a hand-set traceparent is replaced, or dropped without a context', async () => {
    server = await startTestServer((req, res) =>
      json(res, 200, { traceparent: req.headers.traceparent ?? null }),
    );
    client = createServiceClient({ origin: `http://127.0.0.1:${server.port}` });
    const stale = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };

    const dropped = await client.call({ path: '/', headers: stale });
    expect(dropped.body).toEqual({ traceparent: null });

    propagation.setGlobalPropagator(fixedTraceparent);
    const replaced = await client.call({ path: '/', headers: stale });
    expect(replaced.body).toEqual({ traceparent: TRACEPARENT });
  });

  it('sends the JSON body with its content type and parses a JSON answer', async () => {
    server = await startTestServer((req, res) => {
      void readBody(req).then((body) =>
        json(res, 201, {
          method: req.method,
          type: req.headers['content-type'],
          body: JSON.parse(body) as unknown,
        }),
      );
    });
    client = createServiceClient({ origin: `http://127.0.0.1:${server.port}` });

    const result = await client.call({ path: '/', json: { id: 'a', payload: 'p' } });

    expect(result).toMatchObject({
      outcome: 'ok',
      statusCode: 201,
      body: { method: 'POST', type: 'application/json', body: { id: 'a', payload: 'p' } },
      errorCode: null,
    });
  });
});
