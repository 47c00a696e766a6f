// The benchmark's upstream: a plain node:http JSON echo in its own process, so the client side has
// the bench process to itself. Prints its port on stdout. Like the producer, it honours `delay` (ms)
// and `responseCode` in the JSON body (used by trip-rule.bench.mjs).
import { createServer } from 'node:http';

const server = createServer({ keepAliveTimeout: 72_000 }, (req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const received = JSON.parse(Buffer.concat(chunks).toString() || 'null');
    const text = JSON.stringify({ received });
    const answer = () => {
      res.writeHead(received?.responseCode ?? 200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    if (received?.delay > 0) setTimeout(answer, received.delay);
    else answer();
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
