import { afterEach, describe, expect, it } from 'vitest';
import { createServiceClient, parseConnectTo } from '../src/index.js';
import type { ServiceClient } from '../src/index.js';
import { json, startTestServer } from './test-server.js';
import type { TestServer } from './test-server.js';

const CLUSTERSET = 'sample-producer.istio-apps.svc.clusterset.local';

describe('parseConnectTo', () => {
  it('parses comma-separated HOST1:PORT1:HOST2:PORT2 entries', () => {
    expect(
      parseConnectTo(`${CLUSTERSET}:8080:127.0.0.1:8081, a.example:80:b.example:8080`),
    ).toEqual([
      { host: CLUSTERSET, port: 8080, toHost: '127.0.0.1', toPort: 8081 },
      { host: 'a.example', port: 80, toHost: 'b.example', toPort: 8080 },
    ]);
  });

  it('accepts empty fields (any / unchanged) and bracketed IPv6 like curl', () => {
    expect(parseConnectTo('::[::1]:9000')).toEqual([
      { host: '', port: 0, toHost: '::1', toPort: 9000 },
    ]);
    expect(parseConnectTo('Svc.Local:8080:127.0.0.1:')).toEqual([
      { host: 'svc.local', port: 8080, toHost: '127.0.0.1', toPort: 0 },
    ]);
    expect(parseConnectTo('')).toEqual([]);
  });

  it.each([
    ['too-few:8080:127.0.0.1'],
    ['a:8080:b:8081:extra'],
    ['a:99999:b:1'],
    ['a:80:b:port'],
    ['a b:80:c:1'],
    ['[::1:80:c:1'],
  ])('names the bad entry %s in its error', (entry) => {
    expect(() => parseConnectTo(`ok.example:1:127.0.0.1:2,${entry}`)).toThrow(entry);
  });
});

describe('connectTo', () => {
  let server: TestServer;
  let client: ServiceClient;
  afterEach(async () => {
    await client?.close();
    await server?.close();
  });

  it('connects to the mapped port while the server sees the clusterset Host header', async () => {
    server = await startTestServer((req, res) =>
      json(res, 200, {
        host: req.headers.host,
        url: req.url,
        requestId: req.headers['x-request-id'],
      }),
    );
    client = createServiceClient({
      origin: `http://${CLUSTERSET}:8080`,
      connectTo: `${CLUSTERSET}:8080:127.0.0.1:${server.port}`,
    });

    const result = await client.call({ path: '/producer/messages?x=1', requestId: 'req-42' });

    expect(result.outcome).toBe('ok');
    expect(result.body).toEqual({
      host: `${CLUSTERSET}:8080`,
      url: '/producer/messages?x=1',
      requestId: 'req-42',
    });
    expect(client.upstream).toBe(CLUSTERSET);
    expect(client.origin).toBe(`http://${CLUSTERSET}:8080`);
    expect(server.accepted()).toBe(1);
  });

  it('leaves origins that match no entry to the system resolver', async () => {
    server = await startTestServer((req, res) => json(res, 200, { host: req.headers.host }));
    client = createServiceClient({
      origin: `http://localhost:${server.port}`,
      connectTo: ['other.example:80:127.0.0.1:1'],
    });

    const result = await client.call({ path: '/' });

    expect(result.outcome).toBe('ok');
    expect(result.body).toEqual({ host: `localhost:${server.port}` });
  });
});
