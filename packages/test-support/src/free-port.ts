// A loopback port for a service that must be told its port before it starts.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A port on 127.0.0.1 that was free a moment ago (bound, then released): nothing listens on it
 * until someone is told to. Prefer `PORT=0` and reading the port back where the service allows.
 */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
