// The shared HTTP pieces together: server factory, problem+json, probes, metrics.
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { metricsPlugin } from '../src/metrics.js';
import { probesPlugin } from '../src/probes.js';
import { HttpProblem, problemDetailsPlugin } from '../src/problem.js';
import { createServer } from '../src/server.js';

let app: FastifyInstance;
afterEach(async () => {
  await app?.close();
});

async function build(): Promise<FastifyInstance> {
  app = createServer({ logger: false });
  await app.register(problemDetailsPlugin);
  await app.register(probesPlugin);
  await app.register(metricsPlugin);
  app.post(
    '/things',
    {
      schema: {
        body: {
          type: 'object',
          required: ['name'],
          properties: { name: { type: 'string', maxLength: 5 }, count: { type: 'integer' } },
        },
      },
    },
    async (request) => {
      const { name } = request.body as { name: string };
      if (name === 'deny') throw new HttpProblem(403, 'denied');
      if (name === 'boom') throw new Error('secret internals');
      return { name };
    },
  );
  await app.ready();
  return app;
}

const json = { 'content-type': 'application/json' };

describe('problem+json errors', () => {
  it('answers 400 naming the field for a schema violation', async () => {
    await build();
    const response = await app.inject({
      method: 'POST',
      url: '/things',
      headers: json,
      payload: { name: 'toolong' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      field: 'name',
    });
  });

  it('names a missing required field and does not coerce string numbers', async () => {
    await build();
    const missing = await app.inject({
      method: 'POST',
      url: '/things',
      headers: json,
      payload: {},
    });
    expect(missing.json()).toMatchObject({ status: 400, field: 'name' });
    const coerced = await app.inject({
      method: 'POST',
      url: '/things',
      headers: json,
      payload: { name: 'a', count: '5' },
    });
    expect(coerced.json()).toMatchObject({ status: 400, field: 'count' });
    const notAnObject = await app.inject({
      method: 'POST',
      url: '/things',
      headers: json,
      payload: '[]',
    });
    expect(notAnObject.json()).toMatchObject({ status: 400, field: 'body' });
  });

  it('answers 400 for malformed JSON, 413 above 64 KiB, 415 for other content types, 404 for unknown routes', async () => {
    await build();
    const malformed = await app.inject({
      method: 'POST',
      url: '/things',
      headers: json,
      payload: '{"name":',
    });
    expect(malformed.statusCode).toBe(400);
    const large = await app.inject({
      method: 'POST',
      url: '/things',
      headers: json,
      payload: JSON.stringify({ name: 'x'.repeat(70_000) }),
    });
    expect(large.statusCode).toBe(413);
    const text = await app.inject({
      method: 'POST',
      url: '/things',
      headers: { 'content-type': 'text/plain' },
      payload: 'hello',
    });
    expect(text.statusCode).toBe(415);
    const missing = await app.inject({ method: 'GET', url: '/nowhere' });
    expect(missing.statusCode).toBe(404);
    for (const response of [malformed, large, text, missing]) {
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(Object.keys(response.json()).sort()).toEqual(['detail', 'status', 'title', 'type']);
    }
  });

  it('answers thrown HttpProblems with their status and hides internal errors behind a 500', async () => {
    await build();
    const denied = await app.inject({
      method: 'POST',
      url: '/things',
      headers: json,
      payload: { name: 'deny' },
    });
    expect(denied.json()).toMatchObject({ status: 403, detail: 'denied' });
    const boom = await app.inject({
      method: 'POST',
      url: '/things',
      headers: json,
      payload: { name: 'boom' },
    });
    expect(boom.statusCode).toBe(500);
    expect(boom.body).not.toContain('secret internals');
    expect(boom.body).not.toContain('at ');
  });
});

describe('request ids', () => {
  it('echoes a sane x-request-id and replaces an unusable one', async () => {
    await build();
    const kept = await app.inject({ url: '/livez', headers: { 'x-request-id': 'abc-123' } });
    expect(kept.headers['x-request-id']).toBe('abc-123');
    const replaced = await app.inject({ url: '/livez', headers: { 'x-request-id': 'a b' } });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('probes', () => {
  it('reports ready after start-up and 503 once shutdown starts, while livez stays 200', async () => {
    await build();
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(200);
    app.readiness.markShuttingDown();
    const readyz = await app.inject({ url: '/readyz' });
    expect(readyz.statusCode).toBe(503);
    expect(readyz.json()).toEqual({ status: 'shutting_down' });
    expect((await app.inject({ url: '/livez' })).statusCode).toBe(200);
  });
});

describe('metrics', () => {
  it('exposes a request duration histogram labelled by route pattern and process metrics', async () => {
    await build();
    await app.inject({ url: '/livez' });
    await app.inject({ url: '/nowhere/123' });
    const text = (await app.inject({ url: '/metrics' })).body;
    expect(text).toContain('# TYPE http_server_request_duration_seconds histogram');
    expect(text).toMatch(
      /http_server_request_duration_seconds_count\{http_request_method="GET",http_route="\/livez",http_response_status_code="200"\} 1/,
    );
    expect(text).toMatch(/http_route="unmatched",http_response_status_code="404"/);
    expect(text).not.toContain('/nowhere/123');
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('keeps one registry per app so two apps count separately', async () => {
    await build();
    const first = app;
    const second = createServer({ logger: false });
    await second.register(metricsPlugin, { processMetrics: false });
    await second.ready();
    await first.inject({ url: '/livez' });
    const secondText = (await second.inject({ url: '/metrics' })).body;
    expect(secondText).not.toContain('http_route="/livez"');
    await second.close();
  });
});

describe('access log', () => {
  it('writes one "request completed" line per request with what an operator needs, none for probes', async () => {
    const lines: Array<Record<string, unknown>> = [];
    app = createServer({
      logStream: {
        write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>),
      },
    });
    await app.register(probesPlugin);
    app.get('/hello', async () => ({ hello: 'world' }));
    await app.ready();

    const answer = await app.inject({ method: 'GET', url: '/hello?x=1' });
    await app.inject({ method: 'GET', url: '/livez' });

    const requestLines = lines.filter((line) => line['reqId'] !== undefined);
    expect(requestLines).toHaveLength(1);
    const [line] = requestLines;
    expect(line).toMatchObject({
      level: 30,
      msg: 'request completed',
      reqId: answer.headers['x-request-id'],
      req: { method: 'GET', url: '/hello?x=1' },
      res: { statusCode: 200 },
    });
    expect(line?.['responseTime']).toBeTypeOf('number');
  });
});
