/**
 * The link between the clusters: a TCP proxy that delays every byte by half the round-trip
 * time (plus jitter) in each direction and can cut the link. `tc netem` is not available
 * here, so the delay lives in user space; the proxy terminates the caller's connection the way
 * a sidecar does after its iptables redirect, and opens its own connection across the link.
 *
 * Partition modes:
 * - `blackhole` (default): nothing crosses. Bytes, FINs and resets already sent — and new
 *   connections, which are accepted but not forwarded — wait until the link heals, the way TCP
 *   retransmits through an outage. The caller sees its requests time out.
 * - `reset`: every connection across the link is reset and new ones are reset on accept; the
 *   caller sees `ECONNRESET` at once.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';

export type CutMode = 'blackhole' | 'reset';

export interface LinkShaperOptions {
  /** Where the shaper accepts connections (the ClusterSetIP as seen from cluster-1). */
  listen: { host: string; port: number };
  /** Where it forwards them (cluster-2's balancer). */
  target: { host: string; port: number };
  /** Round-trip time added by the link; each direction gets half. **Default:** 35 (us-west1 ↔ us-central1). */
  rttMs?: number;
  /** Each chunk's one-way delay varies uniformly by ± this much; order is kept. **Default:** 2. */
  jitterMs?: number;
}

export interface LinkState {
  rttMs: number;
  jitterMs: number;
  cut: CutMode | null;
}

export interface LinkStats extends LinkState {
  connectionsTotal: number;
  connectionsOpen: number;
  connectionsReset: number;
  bytesToCluster2: number;
  bytesToCluster1: number;
}

type Step = () => void;

/** One direction of one connection: steps run in order, each no earlier than its due time. */
class DelayedDirection {
  private readonly queue: Array<{ dueAt: number; step: Step }> = [];
  private timer: NodeJS.Timeout | null = null;
  private lastDueAt = 0;

  constructor(private readonly link: LinkShaper) {}

  push(step: Step): void {
    const dueAt = Math.max(this.lastDueAt, performance.now() + this.link.oneWayDelayMs());
    this.lastDueAt = dueAt;
    this.queue.push({ dueAt, step });
    this.arm();
  }

  /** Runs what is due unless the link is cut; called again by heal(). */
  flush(): void {
    if (this.link.state().cut) return;
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.dueAt <= now + 0.5) {
      this.queue.shift()!.step();
    }
    this.arm();
  }

  clear(): void {
    this.queue.length = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    if (this.timer || this.link.state().cut) return;
    const head = this.queue[0];
    if (!head) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.flush();
      },
      Math.max(0, head.dueAt - performance.now()),
    );
  }
}

interface Crossing {
  downstream: net.Socket;
  upstream: net.Socket;
  toCluster2: DelayedDirection;
  toCluster1: DelayedDirection;
}

export class LinkShaper {
  private readonly server: net.Server;
  private readonly crossings = new Set<Crossing>();
  private current: LinkState;
  private counters = {
    connectionsTotal: 0,
    connectionsReset: 0,
    bytesToCluster2: 0,
    bytesToCluster1: 0,
  };

  constructor(private readonly options: LinkShaperOptions) {
    this.current = { rttMs: options.rttMs ?? 35, jitterMs: options.jitterMs ?? 2, cut: null };
    this.server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) =>
      this.accept(socket),
    );
  }

  async listen(): Promise<net.AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.listen.port, this.options.listen.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.server.address() as net.AddressInfo;
  }

  state(): LinkState {
    return this.current;
  }

  stats(): LinkStats {
    return { ...this.current, ...this.counters, connectionsOpen: this.crossings.size };
  }

  /** Changes latency and jitter; applies to bytes sent from now on. */
  shape(change: { rttMs?: number; jitterMs?: number }): LinkState {
    for (const key of ['rttMs', 'jitterMs'] as const) {
      const value = change[key];
      if (value === undefined) continue;
      if (!Number.isFinite(value) || value < 0 || value > 60_000) {
        throw new RangeError(`${key} must be a number of milliseconds in 0..60000`);
      }
      this.current = { ...this.current, [key]: value };
    }
    return this.current;
  }

  cut(mode: CutMode = 'blackhole'): LinkState {
    this.current = { ...this.current, cut: mode };
    if (mode === 'reset') {
      for (const crossing of this.crossings) this.reset(crossing);
    }
    return this.current;
  }

  heal(): LinkState {
    this.current = { ...this.current, cut: null };
    for (const crossing of this.crossings) {
      crossing.toCluster2.flush();
      crossing.toCluster1.flush();
    }
    return this.current;
  }

  oneWayDelayMs(): number {
    const { rttMs, jitterMs } = this.current;
    const jitter = jitterMs === 0 ? 0 : (Math.random() * 2 - 1) * jitterMs;
    return Math.max(0, rttMs / 2 + jitter);
  }

  async close(): Promise<void> {
    for (const crossing of this.crossings) this.reset(crossing);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(downstream: net.Socket): void {
    this.counters.connectionsTotal += 1;
    if (this.current.cut === 'reset') {
      this.counters.connectionsReset += 1;
      downstream.on('error', () => {});
      downstream.resetAndDestroy();
      return;
    }
    // Created unconnected so that the connect itself crosses the link (SYN delay, partition).
    const upstream = new net.Socket({ allowHalfOpen: true });
    const crossing: Crossing = {
      downstream,
      upstream,
      toCluster2: new DelayedDirection(this),
      toCluster1: new DelayedDirection(this),
    };
    this.crossings.add(crossing);
    upstream.setNoDelay(true);

    crossing.toCluster2.push(() => {
      upstream.connect(this.options.target.port, this.options.target.host);
    });
    downstream.on('data', (chunk: Buffer) => {
      crossing.toCluster2.push(() => {
        this.counters.bytesToCluster2 += chunk.length;
        upstream.write(chunk);
      });
    });
    upstream.on('data', (chunk: Buffer) => {
      crossing.toCluster1.push(() => {
        this.counters.bytesToCluster1 += chunk.length;
        downstream.write(chunk);
      });
    });
    // A FIN travels like data; a reset or error tears down the far side once it "arrives".
    downstream.on('end', () => crossing.toCluster2.push(() => upstream.end()));
    upstream.on('end', () => crossing.toCluster1.push(() => downstream.end()));
    downstream.on('error', () => crossing.toCluster2.push(() => upstream.resetAndDestroy()));
    upstream.on('error', () => crossing.toCluster1.push(() => downstream.resetAndDestroy()));
    const forget = () => {
      if (downstream.destroyed && upstream.destroyed) {
        crossing.toCluster1.clear();
        crossing.toCluster2.clear();
        this.crossings.delete(crossing);
      }
    };
    // Closed without FIN or error (e.g. destroyed by us): the far side gets a FIN.
    downstream.on('close', () => {
      crossing.toCluster2.push(() => upstream.end());
      forget();
    });
    upstream.on('close', () => {
      crossing.toCluster1.push(() => downstream.end());
      forget();
    });
  }

  private reset(crossing: Crossing): void {
    this.counters.connectionsReset += 1;
    crossing.toCluster1.clear();
    crossing.toCluster2.clear();
    crossing.downstream.resetAndDestroy();
    crossing.upstream.resetAndDestroy();
    this.crossings.delete(crossing);
  }
}
