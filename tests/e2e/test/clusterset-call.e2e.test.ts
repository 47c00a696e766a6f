import { setTimeout as sleep } from 'node:timers/promises';
import {
  CALLER_CLUSTER,
  CLUSTERSET_HOST,
  PRODUCER_CLUSTER,
  PRODUCER_CLUSTER_2,
} from '@s2s/clusterset-sim';
import type { ClusterSet } from '@s2s/clusterset-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callThroughGateway } from '../src/gateway-client.js';
import { startSimulation, stopSimulation } from '../src/simulation.js';

const RTT_MS = 35;
const JITTER_MS = 2;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe('a call from cluster-1 to the exporting clusters (cluster-2, cluster-3) through the ingress gateway', () => {
  let sim: ClusterSet;
  beforeAll(async () => {
    sim = await startSimulation({ rttMs: RTT_MS, jitterMs: JITTER_MS, dnsTtlSeconds: 1 });
  });
  afterAll(async () => {
    await stopSimulation('clusterset-call');
  });

  it('answers with the producer metadata of an exporting cluster and the caller metadata of cluster-1', async () => {
    const { status, envelope } = await callThroughGateway(sim.gatewayUrl, {
      payload: 'hello across clusters',
    });
    expect(status).toBe(200);
    expect(envelope.outcome).toBe('ok');
    expect(envelope.received).toBe('hello across clusters');
    const exporting = [PRODUCER_CLUSTER, PRODUCER_CLUSTER_2].map(
      ({ name, location }) => `${name} ${location}`,
    );
    expect(exporting).toContain(
      `${String(envelope.producerMetadata?.clusterName)} ${String(envelope.producerMetadata?.clusterLocation)}`,
    );
    expect(envelope.callerMetadata).toMatchObject({
      clusterName: CALLER_CLUSTER.name,
      clusterLocation: CALLER_CLUSTER.location,
    });
    expect(envelope.breaker.state).toBe('closed');
  });

  it('reaches the replicas of both exporting clusters behind the ClusterSetIP over many calls', async () => {
    const pods = new Set<string>();
    // The ClusterSetIP's DNAT picks an endpoint per connection (not per request), as kube-proxy
    // does, and the caller's kept-alive connections keep theirs: fast batches of the same size
    // would ride the same few connections. Each batch is larger than the last and its calls are
    // held 200 ms, so the caller opens new connections, each a new draw: 8 + 16 + 24 draws miss one
    // of 4 pods with a chance of about 4 x (3/4)^48.
    for (let batch = 0; batch < 6 && pods.size < 4; batch += 1) {
      const answers = await Promise.all(
        Array.from({ length: 8 * (batch + 1) }, (_, i) =>
          callThroughGateway(sim.gatewayUrl, { payload: `batch ${batch}.${i}`, delay: 200 }),
        ),
      );
      for (const { status, envelope } of answers) {
        expect(status).toBe(200);
        pods.add(
          `${String(envelope.producerMetadata?.clusterName)}/${String(envelope.producerMetadata?.podName)}`,
        );
      }
    }
    expect([...pods].sort()).toEqual([
      'producer-cluster-2/sample-producer-c',
      'producer-cluster-2/sample-producer-d',
      'producer-cluster/sample-producer-a',
      'producer-cluster/sample-producer-b',
    ]);
    const endpoints = await sim.endpoints();
    expect(endpoints.every((endpoint) => endpoint.ready && endpoint.serving)).toBe(true);
  });

  it('has a round-trip time that follows the link latency', async () => {
    const sample = async () => {
      const times: number[] = [];
      for (let i = 0; i < 7; i += 1) {
        const { status, envelope } = await callThroughGateway(sim.gatewayUrl, {
          payload: `rtt ${i}`,
        });
        expect(status).toBe(200);
        times.push(envelope.roundTripTimeMillis);
      }
      return median(times);
    };
    const atDefault = await sample();
    // One request/response exchange crosses the link once each way: at least one RTT.
    expect(atDefault).toBeGreaterThanOrEqual(RTT_MS - 2 * JITTER_MS);
    await sim.link.shape({ rttMs: 300, jitterMs: 0 });
    try {
      const atSlow = await sample();
      expect(atSlow).toBeGreaterThanOrEqual(300);
      // The extra 265 ms shows up almost entirely (bounds generous for a busy machine).
      expect(atSlow - atDefault).toBeGreaterThan(200);
      expect(atSlow - atDefault).toBeLessThan(2000);
      console.log(
        `round trip (median of 7): ${atDefault.toFixed(1)} ms at RTT ${RTT_MS} ms, ${atSlow.toFixed(1)} ms at RTT 300 ms`,
      );
    } finally {
      await sim.link.shape({ rttMs: RTT_MS, jitterMs: JITTER_MS });
    }
  });

  it('resolves the exported name to the ClusterSetIP in cluster-1 and no other clusterset name', async () => {
    expect(await sim.resolveInCluster1(CLUSTERSET_HOST)).toEqual([
      sim.topology.addresses.clusterSetIp,
    ]);
    expect(await sim.resolveInCluster1('sample-caller.istio-apps.svc.clusterset.local')).toEqual(
      [],
    );
    expect(
      await sim.resolveInCluster1('sample-producer.other-namespace.svc.clusterset.local'),
    ).toEqual([]);
  });

  it('resolves the clusterset name only through the simulated DNS: without it the caller reports unreachable and never hangs', async () => {
    await sim.stop('dns');
    expect(await sim.resolveInCluster1(CLUSTERSET_HOST)).toEqual([]);
    // Pooled connections skip DNS; once they have been idle past the client's keep-alive
    // timeout (4 s) the next call needs a lookup. Bounded: at most 5 tries, 5 s apart.
    let last: Awaited<ReturnType<typeof callThroughGateway>> | null = null;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      await sleep(5000);
      last = await callThroughGateway(sim.gatewayUrl, { payload: 'no dns' }, 10_000);
      if (last.envelope.outcome !== 'ok') break;
    }
    expect(last?.envelope.outcome).toBe('unreachable');
    expect(last?.status).toBe(502);
    // A failed lookup is answered well within the caller's 3 s deadline: no hang.
    expect(last!.elapsedMs).toBeLessThan(3000);
    console.log(
      `with DNS stopped: outcome ${last?.envelope.outcome} after ${last!.elapsedMs.toFixed(0)} ms`,
    );

    await sim.start('dns');
    // The breaker may have opened on the failures; it closes after its reset time (15 s default).
    const recovered = await (async () => {
      const deadline = Date.now() + 40_000;
      while (Date.now() < deadline) {
        const answer = await callThroughGateway(sim.gatewayUrl, { payload: 'dns back' });
        if (answer.envelope.outcome === 'ok') return answer;
        await sleep(1000);
      }
      return null;
    })();
    expect([PRODUCER_CLUSTER.name, PRODUCER_CLUSTER_2.name]).toContain(
      recovered?.envelope.producerMetadata?.clusterName,
    );
  });
});
