// The benchmark's target: a fast Node HTTP server answering a caller-style envelope, so every
// generator gets the same small JSON answer. Prints its port on stdout once listening.
import { createServer } from 'node:http';

const body = JSON.stringify({
  id: 'bench',
  received: 'x',
  statusCode: 200,
  outcome: 'ok',
  roundTripTimeMillis: 0,
  breaker: { state: 'closed' },
  traceId: null,
});
const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };

const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    response.writeHead(200, headers);
    response.end(body);
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
