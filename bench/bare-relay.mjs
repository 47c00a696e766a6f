// The baseline of caller-vs-bare-relay.bench.mjs: what the caller does minus everything it adds
// (schemas, breaker, timeouts, envelope, metrics, logging): Fastify + undici `request`, relaying
// POST /caller/messages to the producer's /producer/messages.
import Fastify from 'fastify';
import { Agent, request } from 'undici';

const port = Number(process.env.PORT ?? 0);
const producer = process.env.PRODUCER_ORIGIN;
if (!producer) throw new Error('PRODUCER_ORIGIN is required');

const dispatcher = new Agent({ keepAliveTimeout: 4_000, connections: 128 });
const app = Fastify({ logger: false, keepAliveTimeout: 72_000 });
app.post('/caller/messages', async (req, reply) => {
  const answer = await request(`${producer}/producer/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(req.body),
    dispatcher,
  });
  const body = await answer.body.json();
  return reply.code(answer.statusCode).send(body);
});
const address = await app.listen({ port, host: '127.0.0.1' });
process.stdout.write(`listening ${address}\n`);
process.on('SIGTERM', () => {
  void app
    .close()
    .then(() => dispatcher.close())
    .then(() => process.exit(0));
});
