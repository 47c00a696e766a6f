/**
 * The clusterset DNS: answers the names GKE Multi-cluster Services would publish
 * (`SERVICE.NAMESPACE.svc.clusterset.local` → ClusterSetIP), NXDOMAIN for any other name in
 * its zones (`clusterset.local`, `cluster.local`, so the search-list walk of a pod's resolver
 * ends quickly), and REFUSED for names outside them (no recursion: there is no internet).
 * UDP only, like glibc's resolver for small answers. A short TTL keeps "stop the DNS server"
 * observable by clients that cache. The resolver configuration of cluster-1 that points at it
 * is written here too (writeResolvConf), so the simulation's DNS lives in this one file.
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import dnsPacket from 'dns-packet';

export interface ClusterSetDnsOptions {
  listen: { host: string; port: number };
  /** Fully qualified name (no trailing dot) → IPv4 address. */
  records: Record<string, string>;
  /** Zones this server is authoritative for. **Default:** `['clusterset.local', 'cluster.local']`. */
  zones?: string[];
  /** TTL of the A records, in seconds. **Default:** 2. */
  ttlSeconds?: number;
}

const RCODE = { NOERROR: 0, NXDOMAIN: 3, REFUSED: 5 } as const;

export interface DnsAnswer {
  rcode: keyof typeof RCODE;
  addresses: string[];
}

/** The decision for one question, separated from the socket so it can be tested directly. */
export function answerFor(
  options: Pick<ClusterSetDnsOptions, 'records' | 'zones'>,
  name: string,
  type: string,
): DnsAnswer {
  const fqdn = name.toLowerCase().replace(/\.$/, '');
  const zones = options.zones ?? ['clusterset.local', 'cluster.local'];
  const address = Object.entries(options.records).find(([key]) => key.toLowerCase() === fqdn)?.[1];
  if (address !== undefined) {
    // The name exists; only A has data (an AAAA question gets NOERROR with no answer).
    return { rcode: 'NOERROR', addresses: type === 'A' || type === 'ANY' ? [address] : [] };
  }
  const inZone = zones.some((zone) => fqdn === zone || fqdn.endsWith(`.${zone}`));
  return { rcode: inZone ? 'NXDOMAIN' : 'REFUSED', addresses: [] };
}

export class ClusterSetDns {
  private readonly socket = dgram.createSocket('udp4');
  queries = 0;

  constructor(private readonly options: ClusterSetDnsOptions) {
    this.socket.on('message', (message, peer) => this.respond(message, peer));
    // A malformed datagram or an unreachable peer must not stop the server.
    this.socket.on('error', () => {});
  }

  async listen(): Promise<{ address: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind(this.options.listen.port, this.options.listen.host, () => {
        this.socket.off('error', reject);
        resolve();
      });
    });
    return this.socket.address();
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private respond(message: Buffer, peer: dgram.RemoteInfo): void {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return;
    }
    this.queries += 1;
    const question = query.questions?.[0];
    const answer = question
      ? answerFor(this.options, question.name, question.type)
      : { rcode: 'REFUSED' as const, addresses: [] };
    const ttl = this.options.ttlSeconds ?? 2;
    const response = dnsPacket.encode({
      type: 'response',
      id: query.id ?? 0,
      flags:
        dnsPacket.AUTHORITATIVE_ANSWER |
        ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) |
        RCODE[answer.rcode],
      questions: question ? [question] : [],
      answers: question
        ? answer.addresses.map((address) => ({
            type: 'A' as const,
            class: 'IN' as const,
            name: question.name,
            ttl,
            data: address,
          }))
        : [],
    });
    this.socket.send(response, peer.port, peer.address);
  }
}

/**
 * cluster-1's resolver: `ip netns exec` bind-mounts /etc/netns/NS/resolv.conf over
 * /etc/resolv.conf for the processes of that namespace. The search list and ndots mirror a
 * Kubernetes pod in namespace istio-apps; `timeout:1 attempts:2` bounds a lookup while the DNS
 * server is down (about 2 s per name, then EAI_AGAIN).
 */
export function writeResolvConf(namespace: string, nameserver: string): string {
  const etc = path.join('/etc/netns', namespace);
  fs.mkdirSync(etc, { recursive: true });
  fs.writeFileSync(
    path.join(etc, 'resolv.conf'),
    [
      '# written by @s2s/clusterset-sim: the clusterset DNS of cluster-1',
      `nameserver ${nameserver}`,
      'search istio-apps.svc.cluster.local svc.cluster.local cluster.local',
      'options ndots:5 timeout:1 attempts:2',
      '',
    ].join('\n'),
  );
  return etc;
}

/** Removes /etc/netns/NS of every namespace given; returns what it removed. */
export function removeResolvConfs(namespaces: string[]): string[] {
  const removed: string[] = [];
  for (const name of namespaces) {
    const etc = path.join('/etc/netns', name);
    if (fs.existsSync(etc)) {
      fs.rmSync(etc, { recursive: true, force: true });
      removed.push(etc);
    }
  }
  return removed;
}
