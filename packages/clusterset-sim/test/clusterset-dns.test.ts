import { Resolver } from 'node:dns/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterSetDns, answerFor } from '../src/clusterset-dns.js';

const NAME = 'sample-producer.istio-apps.svc.clusterset.local';
const records = { [NAME]: '198.18.3.10' };

describe('answerFor', () => {
  it('answers the exported service name with the ClusterSetIP, case-insensitively', () => {
    expect(answerFor({ records }, NAME.toUpperCase() + '.', 'A')).toEqual({
      rcode: 'NOERROR',
      addresses: ['198.18.3.10'],
    });
  });

  it('answers AAAA for an existing name with no data, so resolvers fall back to A', () => {
    expect(answerFor({ records }, NAME, 'AAAA')).toEqual({ rcode: 'NOERROR', addresses: [] });
  });

  it('answers NXDOMAIN for other names in its zones and REFUSED outside them', () => {
    expect(answerFor({ records }, 'other.istio-apps.svc.clusterset.local', 'A').rcode).toBe(
      'NXDOMAIN',
    );
    expect(answerFor({ records }, `${NAME}.istio-apps.svc.cluster.local`, 'A').rcode).toBe(
      'NXDOMAIN',
    );
    expect(answerFor({ records }, 'example.com', 'A').rcode).toBe('REFUSED');
  });
});

describe('ClusterSetDns over UDP', () => {
  let server: ClusterSetDns | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it('serves the record to a standard resolver with the configured TTL', async () => {
    server = new ClusterSetDns({ listen: { host: '127.0.0.1', port: 0 }, records, ttlSeconds: 2 });
    const { port } = await server.listen();
    const resolver = new Resolver({ timeout: 1000, tries: 1 });
    resolver.setServers([`127.0.0.1:${port}`]);
    expect(await resolver.resolve4(NAME, { ttl: true })).toEqual([
      { address: '198.18.3.10', ttl: 2 },
    ]);
    await expect(resolver.resolve4('nope.istio-apps.svc.clusterset.local')).rejects.toMatchObject({
      code: 'ENOTFOUND',
    });
    expect(server.queries).toBe(2);
  });
});
