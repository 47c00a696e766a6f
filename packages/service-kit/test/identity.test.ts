import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { createIdentityResolver } from '../src/identity.js';

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function fakeMetadataServer(
  answer: (path: string, flavor: string | undefined) => { status: number; body: string } | null,
): Promise<{ url: string; paths: string[] }> {
  const paths: string[] = [];
  server = createServer((request, response) => {
    paths.push(request.url ?? '');
    const result = answer(request.url ?? '', request.headers['metadata-flavor'] as string);
    if (!result) return; // never answers
    response.writeHead(result.status, { 'metadata-flavor': 'Google' }).end(result.body);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/computeMetadata/v1/`, paths };
}

describe('identity resolver', () => {
  it('uses the environment and never asks the metadata server when the cluster is known', async () => {
    const fake = await fakeMetadataServer(() => ({ status: 200, body: 'wrong' }));
    const resolver = createIdentityResolver({
      service: 'sample-producer',
      env: {
        CLUSTER_NAME: 'c1',
        CLUSTER_LOCATION: 'us-west1-a',
        POD_NAME: 'p',
        POD_IP: '10.0.0.1',
        APP_VERSION: 'v1',
      },
      metadataUrl: fake.url,
    });
    await resolver.settled;
    expect(resolver.current()).toEqual({
      service: 'sample-producer',
      clusterName: 'c1',
      clusterLocation: 'us-west1-a',
      podName: 'p',
      podIp: '10.0.0.1',
      appVersion: 'v1',
      hostName: hostname(),
    });
    expect(fake.paths).toEqual([]);
  });

  it('fills missing cluster values from the metadata server, sending Metadata-Flavor: Google', async () => {
    const fake = await fakeMetadataServer((path, flavor) => {
      if (flavor !== 'Google') return { status: 403, body: '' };
      if (path.endsWith('/cluster-name')) return { status: 200, body: 'gke-west' };
      if (path.endsWith('/cluster-location')) return { status: 200, body: 'us-west1-a' };
      return { status: 404, body: '' };
    });
    const resolver = createIdentityResolver({ service: 's', env: {}, metadataUrl: fake.url });
    await resolver.settled;
    expect(resolver.current()).toMatchObject({
      clusterName: 'gke-west',
      clusterLocation: 'us-west1-a',
      podName: hostname(),
    });
    expect(fake.paths.sort()).toEqual([
      '/computeMetadata/v1/instance/attributes/cluster-location',
      '/computeMetadata/v1/instance/attributes/cluster-name',
    ]);
  });

  it('answers at once with the host name while a silent metadata server times out', async () => {
    const fake = await fakeMetadataServer(() => null);
    const resolver = createIdentityResolver({
      service: 's',
      env: { CLUSTER_NAME: 'c1' },
      metadataUrl: fake.url,
      metadataTimeoutMs: 200,
    });
    expect(resolver.current().clusterLocation).toBe(hostname());
    const started = performance.now();
    await resolver.settled;
    expect(performance.now() - started).toBeLessThan(5000);
    expect(resolver.current()).toMatchObject({ clusterName: 'c1', clusterLocation: hostname() });
    server?.closeAllConnections();
  });

  it('falls back to the host name when the metadata server is unreachable', async () => {
    const resolver = createIdentityResolver({
      service: 's',
      env: {},
      metadataUrl: 'http://127.0.0.1:9/computeMetadata/v1/',
    });
    await resolver.settled;
    expect(resolver.current()).toMatchObject({
      clusterName: hostname(),
      clusterLocation: hostname(),
      appVersion: null,
    });
  });
});
