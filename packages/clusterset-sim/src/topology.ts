/**
 * Names and addresses of one simulated clusterset: cluster-1 (the caller's, which imports the
 * producer service) and two exporting clusters, cluster-2 and cluster-3, each behind its own
 * link. Every address lies in 198.18.0.0/15 (RFC 2544 benchmarking space), so nothing here can
 * collide with a real network. An instance number (0–15) shifts the third octet by 16 so that a
 * person's `pnpm sim up` (instance 0) and the test suites (instances 1, 2) can run side by side.
 */
export const CLUSTERSET_HOST = 'sample-producer.istio-apps.svc.clusterset.local';
export const SERVICE_PORT = 8080;
/** CLUSTER_NAME / CLUSTER_LOCATION as the k8s overlays set them (k8s/overlays/*-cluster*). */
export const CALLER_CLUSTER = { name: 'caller-cluster', location: 'us-west1-a' } as const;
/** cluster-2: k8s/overlays/producer-cluster. */
export const PRODUCER_CLUSTER = { name: 'producer-cluster', location: 'us-central1-a' } as const;
/** cluster-3, the second exporting cluster in another zone: k8s/overlays/producer-cluster-2. */
export const PRODUCER_CLUSTER_2 = {
  name: 'producer-cluster-2',
  location: 'us-central1-b',
} as const;

export type ProducerClusterId = 'cluster-2' | 'cluster-3';
export const PRODUCER_CLUSTER_IDS: readonly ProducerClusterId[] = ['cluster-2', 'cluster-3'];

/** Replicas of the producer Deployment in each exporting cluster (the base manifest's 2). */
export const REPLICAS_BY_CLUSTER = {
  'cluster-2': ['producer-a', 'producer-b'],
  'cluster-3': ['producer-c', 'producer-d'],
} as const satisfies Record<ProducerClusterId, readonly string[]>;

/** Every producer replica, cluster-2's first. */
export const PRODUCER_REPLICAS = [
  ...REPLICAS_BY_CLUSTER['cluster-2'],
  ...REPLICAS_BY_CLUSTER['cluster-3'],
] as const;
export type ReplicaName = (typeof PRODUCER_REPLICAS)[number];

export interface ReplicaTopology {
  readonly name: ReplicaName;
  /** POD_NAME, e.g. `sample-producer-a`. */
  readonly podName: string;
  /** The pod's own address in its cluster (a /32 on the cluster namespace's loopback). */
  readonly podIp: string;
}

export interface ProducerClusterTopology {
  readonly id: ProducerClusterId;
  /** CLUSTER_NAME and CLUSTER_LOCATION of its producer pods. */
  readonly name: string;
  readonly location: string;
  /** The cluster's network namespace (its pods live here). */
  readonly namespace: string;
  /** The namespace between cluster-1 and this cluster: packet delay and cuts. */
  readonly linkNamespace: string;
  readonly veths: {
    readonly cluster1Side: string;
    readonly linkCluster1Side: string;
    readonly linkClusterSide: string;
    readonly clusterSide: string;
  };
  readonly addresses: {
    /** cluster-1's end of the veth towards this link. */
    readonly cluster1Side: string;
    readonly linkCluster1Side: string;
    readonly linkClusterSide: string;
    /** This cluster's node address (its end of the link veth). */
    readonly node: string;
    /** The /24 its pod addresses come from. */
    readonly podSubnet: string;
  };
  readonly replicas: readonly ReplicaTopology[];
}

export interface Topology {
  readonly instance: number;
  readonly namespaces: {
    /** cluster-1 (us-west1-a): caller, ingress gateway, cluster DNS, the ClusterSetIP rules. */
    readonly cluster1: string;
    /** cluster-2 (us-central1-a) and cluster-3 (us-central1-b): the producer replicas. */
    readonly cluster2: string;
    readonly cluster3: string;
    /** The links cluster-1 ↔ cluster-2 and cluster-1 ↔ cluster-3. */
    readonly link2: string;
    readonly link3: string;
  };
  readonly veths: {
    /** root namespace ↔ cluster-1 (the "internet" side of the ingress gateway). */
    readonly host: { readonly hostSide: string; readonly cluster1Side: string };
  };
  readonly addresses: {
    readonly hostGatewayPeer: string;
    /** Ingress gateway address, reachable from the root namespace. */
    readonly gateway: string;
    /** The address `sample-producer.istio-apps.svc.clusterset.local` resolves to. */
    readonly clusterSetIp: string;
    /** Cluster DNS (kube-dns stand-in) in cluster-1. */
    readonly dns: string;
    /** The caller's pod address; the source address of its calls to the producer. */
    readonly caller: string;
    /** Every producer pod address, cluster-2's first. */
    readonly producers: readonly string[];
  };
  readonly producerClusters: readonly ProducerClusterTopology[];
  readonly prefixes: { readonly hostLink: number; readonly links: number };
}

export function topologyFor(instance: number): Topology {
  if (!Number.isInteger(instance) || instance < 0 || instance > 15) {
    throw new Error(`instance must be an integer 0..15, got ${instance}`);
  }
  const base = instance * 16;
  const net = (offset: number, host: number) => `198.18.${base + offset}.${host}`;
  const tag = `s2s${instance}`;
  // Third-octet offsets: cluster-2 uses 1 (c1↔link), 2 (link↔c2), 6 (pods);
  // cluster-3 uses 7, 8, 9. 3, 4, 5 are the ClusterSetIP, the DNS and the caller.
  const offsets = {
    'cluster-2': { toLink: 1, fromLink: 2, pods: 6 },
    'cluster-3': { toLink: 7, fromLink: 8, pods: 9 },
  } as const;
  const identity = { 'cluster-2': PRODUCER_CLUSTER, 'cluster-3': PRODUCER_CLUSTER_2 } as const;
  const producerClusters = PRODUCER_CLUSTER_IDS.map((id): ProducerClusterTopology => {
    const n = id.slice(-1); // '2' | '3'
    const o = offsets[id];
    return {
      id,
      name: identity[id].name,
      location: identity[id].location,
      namespace: `${tag}-c${n}`,
      linkNamespace: `${tag}-l${n}`,
      veths: {
        cluster1Side: `${tag}-c1l${n}`,
        linkCluster1Side: `${tag}-l${n}c1`,
        linkClusterSide: `${tag}-l${n}c${n}`,
        clusterSide: `${tag}-c${n}l${n}`,
      },
      addresses: {
        cluster1Side: net(o.toLink, 2),
        linkCluster1Side: net(o.toLink, 1),
        linkClusterSide: net(o.fromLink, 1),
        node: net(o.fromLink, 2),
        podSubnet: `${net(o.pods, 0)}/24`,
      },
      replicas: REPLICAS_BY_CLUSTER[id].map((name, index) => ({
        name,
        podName: `sample-${name}`,
        podIp: net(o.pods, 11 + index),
      })),
    };
  });
  return {
    instance,
    namespaces: {
      cluster1: `${tag}-c1`,
      cluster2: `${tag}-c2`,
      cluster3: `${tag}-c3`,
      link2: `${tag}-l2`,
      link3: `${tag}-l3`,
    },
    veths: { host: { hostSide: `${tag}-host`, cluster1Side: `${tag}-c1h` } },
    addresses: {
      hostGatewayPeer: net(0, 1),
      gateway: net(0, 2),
      clusterSetIp: net(3, 10),
      dns: net(4, 53),
      caller: net(5, 10),
      producers: producerClusters.flatMap((cluster) => cluster.replicas.map((r) => r.podIp)),
    },
    producerClusters,
    prefixes: { hostLink: 30, links: 24 },
  };
}

export function producerCluster(
  topology: Topology,
  id: ProducerClusterId,
): ProducerClusterTopology {
  const cluster = topology.producerClusters.find((candidate) => candidate.id === id);
  if (!cluster) throw new Error(`unknown producer cluster "${id}" (cluster-2 or cluster-3)`);
  return cluster;
}

export function replicaOf(
  topology: Topology,
  name: string,
): { cluster: ProducerClusterTopology; replica: ReplicaTopology } | null {
  for (const cluster of topology.producerClusters) {
    const replica = cluster.replicas.find((candidate) => candidate.name === name);
    if (replica) return { cluster, replica };
  }
  return null;
}
