/**
 * The ClusterSetIP: one stable address in front of the producer replicas, an L4 balancer that
 * behaves like Kubernetes endpoints + kube-proxy. A replica receives new connections only
 * while its readiness probe passes (`failureThreshold` consecutive failed probes take it out,
 * `successThreshold` passing ones put it back, as in a pod's readinessProbe); connections
 * already open stay on their replica until one side closes them. Connections are spread
 * round-robin; with no ready replica a new connection is refused (reset), like a Service
 * without endpoints.
 */
import http from 'node:http';
import net from 'node:net';

export interface BalancerEndpoint {
  name: string;
  host: string;
  port: number;
}

export interface ClustersetBalancerOptions {
  listen: Array<{ host: string; port: number }>;
  endpoints: BalancerEndpoint[];
  /** Readiness probe path. **Default:** `/readyz`. */
  probePath?: string;
  /** Probe period. **Default:** 250. */
  probeIntervalMs?: number;
  /** One probe's deadline. **Default:** 200. */
  probeTimeoutMs?: number;
  /** Consecutive failed probes that take a replica out. **Default:** 2. */
  failureThreshold?: number;
  /** Consecutive passing probes that put it back. **Default:** 1. */
  successThreshold?: number;
}

export interface EndpointStatus extends BalancerEndpoint {
  ready: boolean;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  connectionsTotal: number;
  connectionsOpen: number;
  /** Connections this replica did not accept (refused/reset before connecting). */
  connectFailures: number;
}

export class ClustersetBalancer {
  private readonly servers: net.Server[] = [];
  private readonly status: EndpointStatus[];
  private readonly sockets = new Set<net.Socket>();
  private next = 0;
  private probeTimer: NodeJS.Timeout | null = null;
  private closed = false;
  refusedNoEndpoint = 0;

  constructor(private readonly options: ClustersetBalancerOptions) {
    this.status = options.endpoints.map((endpoint) => ({
      ...endpoint,
      ready: false,
      consecutiveFailures: 0,
      consecutiveSuccesses: 0,
      connectionsTotal: 0,
      connectionsOpen: 0,
      connectFailures: 0,
    }));
  }

  async listen(): Promise<void> {
    for (const address of this.options.listen) {
      const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) =>
        this.accept(socket),
      );
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(address.port, address.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      this.servers.push(server);
    }
    this.scheduleProbes(0);
  }

  endpoints(): EndpointStatus[] {
    return this.status.map((endpoint) => ({ ...endpoint }));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(
      this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
  }

  private pick(): EndpointStatus | undefined {
    const count = this.status.length;
    for (let i = 0; i < count; i += 1) {
      const candidate = this.status[(this.next + i) % count]!;
      if (candidate.ready) {
        this.next = (this.next + i + 1) % count;
        return candidate;
      }
    }
    return undefined;
  }

  private accept(downstream: net.Socket): void {
    downstream.on('error', () => {});
    const endpoint = this.pick();
    if (!endpoint) {
      this.refusedNoEndpoint += 1;
      downstream.resetAndDestroy();
      return;
    }
    endpoint.connectionsTotal += 1;
    endpoint.connectionsOpen += 1;
    const upstream = net.connect({
      host: endpoint.host,
      port: endpoint.port,
      noDelay: true,
      allowHalfOpen: true,
    });
    this.sockets.add(downstream);
    this.sockets.add(upstream);
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
    });
    downstream.pipe(upstream);
    upstream.pipe(downstream);
    // A reset on one side is passed on as a reset, as a NAT'ed TCP flow would.
    upstream.on('error', () => {
      if (!connected) endpoint.connectFailures += 1;
      downstream.resetAndDestroy();
    });
    downstream.on('error', () => upstream.resetAndDestroy());
    upstream.once('close', () => {
      endpoint.connectionsOpen -= 1;
      this.sockets.delete(upstream);
      if (!downstream.destroyed) downstream.end();
    });
    downstream.once('close', () => {
      this.sockets.delete(downstream);
      if (!upstream.destroyed) upstream.end();
    });
  }

  private scheduleProbes(delayMs: number): void {
    if (this.closed) return;
    this.probeTimer = setTimeout(() => {
      void Promise.all(this.status.map((endpoint) => this.probe(endpoint))).then(() =>
        this.scheduleProbes(this.options.probeIntervalMs ?? 250),
      );
    }, delayMs);
    this.probeTimer.unref();
  }

  private async probe(endpoint: EndpointStatus): Promise<void> {
    const passed = await probeOnce(
      endpoint,
      this.options.probePath ?? '/readyz',
      this.options.probeTimeoutMs ?? 200,
    );
    if (passed) {
      endpoint.consecutiveFailures = 0;
      endpoint.consecutiveSuccesses += 1;
      if (endpoint.consecutiveSuccesses >= (this.options.successThreshold ?? 1)) {
        endpoint.ready = true;
      }
    } else {
      endpoint.consecutiveSuccesses = 0;
      endpoint.consecutiveFailures += 1;
      if (endpoint.consecutiveFailures >= (this.options.failureThreshold ?? 2)) {
        endpoint.ready = false;
      }
    }
  }
}

/** Like the kubelet: any 2xx/3xx within the deadline passes. */
function probeOnce(endpoint: BalancerEndpoint, path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get(
      { host: endpoint.host, port: endpoint.port, path, agent: false, timeout: timeoutMs },
      (response) => {
        response.resume();
        const status = response.statusCode ?? 0;
        resolve(status >= 200 && status < 400);
      },
    );
    request.on('timeout', () => request.destroy(new Error('probe timeout')));
    request.on('error', () => resolve(false));
  });
}
