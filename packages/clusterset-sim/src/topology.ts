/**
 * Names and addresses of one simulated clusterset. Every address lies in 198.18.0.0/15
 * (RFC 2544 benchmarking space), so nothing here can collide with a real network. An
 * instance number (0–15) shifts the third octet by 16 so that a person's `pnpm sim up`
 * (instance 0) and the e2e suite (instance 1) can run side by side.
 */
export const CLUSTERSET_HOST = 'sample-producer.istio-apps.svc.clusterset.local';
export const SERVICE_PORT = 8080;
/** CLUSTER_NAME / CLUSTER_LOCATION as the k8s overlays set them (k8s/overlays/*-cluster). */
export const CALLER_CLUSTER = { name: 'caller-cluster', location: 'us-west1-a' } as const;
export const PRODUCER_CLUSTER = { name: 'producer-cluster', location: 'us-central1-a' } as const;

export interface Topology {
  readonly instance: number;
  readonly namespaces: {
    /** cluster-1 (us-west1-a): caller, ingress gateway, cluster DNS. */
    readonly cluster1: string;
    /** The link between the clusters: the shaper that adds latency and cuts the link. */
    readonly link: string;
    /** cluster-2 (us-central1-a): two producer replicas behind the ClusterSetIP balancer. */
    readonly cluster2: string;
  };
  readonly veths: {
    /** root namespace ↔ cluster-1 (the "internet" side of the ingress gateway). */
    readonly host: { readonly hostSide: string; readonly cluster1Side: string };
    readonly cluster1ToLink: { readonly cluster1Side: string; readonly linkSide: string };
    readonly linkToCluster2: { readonly linkSide: string; readonly cluster2Side: string };
  };
  readonly addresses: {
    readonly hostGatewayPeer: string;
    /** Ingress gateway address, reachable from the root namespace. */
    readonly gateway: string;
    readonly cluster1Node: string;
    readonly linkCluster1Side: string;
    readonly linkCluster2Side: string;
    readonly cluster2Node: string;
    /** The address `sample-producer.istio-apps.svc.clusterset.local` resolves to. */
    readonly clusterSetIp: string;
    /** Cluster DNS (kube-dns stand-in) in cluster-1. */
    readonly dns: string;
    readonly caller: string;
    readonly producers: readonly string[];
  };
  readonly prefixes: { readonly hostLink: number; readonly links: number };
}

export function topologyFor(instance: number): Topology {
  if (!Number.isInteger(instance) || instance < 0 || instance > 15) {
    throw new Error(`instance must be an integer 0..15, got ${instance}`);
  }
  const base = instance * 16;
  const net = (offset: number, host: number) => `198.18.${base + offset}.${host}`;
  const tag = `s2s${instance}`;
  return {
    instance,
    namespaces: { cluster1: `${tag}-c1`, link: `${tag}-link`, cluster2: `${tag}-c2` },
    veths: {
      host: { hostSide: `${tag}-host`, cluster1Side: `${tag}-c1h` },
      cluster1ToLink: { cluster1Side: `${tag}-c1l`, linkSide: `${tag}-lc1` },
      linkToCluster2: { linkSide: `${tag}-lc2`, cluster2Side: `${tag}-c2l` },
    },
    addresses: {
      hostGatewayPeer: net(0, 1),
      gateway: net(0, 2),
      cluster1Node: net(1, 2),
      linkCluster1Side: net(1, 1),
      linkCluster2Side: net(2, 1),
      cluster2Node: net(2, 2),
      clusterSetIp: net(3, 10),
      dns: net(4, 53),
      caller: net(5, 10),
      producers: [net(6, 11), net(6, 12)],
    },
    prefixes: { hostLink: 30, links: 24 },
  };
}
