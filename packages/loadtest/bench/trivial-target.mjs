// The efficiency bench's target: as little server work per request as HTTP/1.1 allows, so that on
// a 2-core machine the generator, not the target, is what the bench measures. A raw TCP server
// reads each request (head, then Content-Length bytes of body) and writes one pre-built answer
// with a caller-style JSON envelope. Keep-alive, pipelining-safe. Prints its port when listening.
import { createServer } from 'node:net';

const body = JSON.stringify({
  id: 'bench',
  received: 'x',
  statusCode: 200,
  outcome: 'ok',
  roundTripTimeMillis: 0,
  producerMetadata: { clusterName: 'bench', podName: 'bench-0' },
  breaker: { state: 'closed' },
  traceId: null,
});
const answer = Buffer.from(
  `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nkeep-alive: timeout=30\r\n\r\n${body}`,
);
const HEAD_END = Buffer.from('\r\n\r\n');

const server = createServer((socket) => {
  socket.setNoDelay(true);
  let pending = null;
  socket.on('data', (chunk) => {
    let data = pending === null ? chunk : Buffer.concat([pending, chunk]);
    pending = null;
    let answers = 0;
    for (;;) {
      const end = data.indexOf(HEAD_END);
      if (end < 0) break;
      const head = data.toString('latin1', 0, end);
      const at = head.search(/content-length:/i);
      const length = at < 0 ? 0 : Number.parseInt(head.slice(at + 15), 10);
      const total = end + 4 + length;
      if (data.length < total) break;
      answers += 1;
      data = data.subarray(total);
    }
    if (data.length > 0) pending = data;
    // One write for every request this chunk completed.
    if (answers === 1) socket.write(answer);
    else if (answers > 1) socket.write(Buffer.concat(new Array(answers).fill(answer)));
  });
  socket.on('error', () => socket.destroy());
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => {
  server.close();
  process.exit(0);
});
