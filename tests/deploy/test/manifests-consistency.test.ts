// Manifests that must agree with each other and with the apps' contract: each test names the
// pair of settings it ties together and fails when one side drifts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { findAll, findOne, render, type K8sObject } from './support/kustomize.js';
import { fromRepo } from './support/paths.js';
import {
  containerOf,
  deploymentOf,
  durationMs,
  envValue,
  labelsMatch,
  service,
  type Container,
} from './support/workloads.js';

const callerCluster = render('k8s/overlays/caller-cluster');
const producerCluster = render('k8s/overlays/producer-cluster');
const singleCluster = render('k8s/overlays/single-cluster');

const NAMESPACE = 'istio-apps';
const APP_PORT = 8080;
// Time the apps get after draining to flush telemetry and exit (sdk.shutdown() after app.close()).
const FLUSH_MARGIN_MS = 2_000;

/** Overlays and the apps each one runs. */
const deployments: [string, K8sObject[], string[]][] = [
  ['caller-cluster', callerCluster, ['sample-caller']],
  ['producer-cluster', producerCluster, ['sample-producer']],
  ['single-cluster', singleCluster, ['sample-caller', 'sample-producer']],
];
const everyApp = deployments.flatMap(([overlay, objects, apps]) =>
  apps.map((app) => [overlay, app, objects] as const),
);

interface VirtualServiceSpec {
  hosts: string[];
  gateways?: string[];
  http: {
    timeout?: string;
    retries?: { attempts: number; retryOn?: string };
    match?: { uri: Record<string, string> }[];
    fault?: { abort?: { httpStatus: number } };
    route: { destination: { host: string; port?: { number: number } } }[];
  }[];
}
interface DestinationRuleSpec {
  host: string;
  trafficPolicy: {
    tls?: { mode: string };
    connectionPool?: { tcp?: { connectTimeout?: string } };
    outlierDetection: {
      consecutive5xxErrors: number;
      consecutiveGatewayErrors?: number;
      interval?: string;
      baseEjectionTime?: string;
      maxEjectionPercent?: number;
    };
  };
}

const producerHostOf = (objects: K8sObject[]): string =>
  new URL(envValue(containerOf(objects, 'sample-caller'), 'PRODUCER_URL')).hostname;
const producerVirtualService = (objects: K8sObject[]) =>
  findOne(objects, 'VirtualService', 'sample-producer').spec as VirtualServiceSpec;
const producerDestinationRule = (objects: K8sObject[]) =>
  findOne(objects, 'DestinationRule', 'sample-producer').spec as DestinationRuleSpec;

describe('names from the contract', () => {
  it.each(everyApp)(
    '%s: %s has its Service (port 8080 "http"), ServiceAccount and pod labels',
    (_o, app, objects) => {
      const deployment = deploymentOf(objects, app);
      expect(deployment.metadata.name).toBe(`${app}-v1`);
      expect(deployment.spec.template.metadata.labels).toMatchObject({ app, version: 'v1' });
      expect(deployment.spec.template.spec.serviceAccountName).toBe(`${app}-sa`);
      findOne(objects, 'ServiceAccount', `${app}-sa`);
      const svc = service(objects, app);
      expect(svc.spec.ports).toEqual([expect.objectContaining({ name: 'http', port: APP_PORT })]);
    },
  );

  it.each(deployments)(
    '%s: the namespace istio-apps is labelled for sidecar injection with STRICT mTLS',
    (_o, objects) => {
      expect(findOne(objects, 'Namespace', NAMESPACE).metadata.labels).toMatchObject({
        'istio-injection': 'enabled',
      });
      const peer = findOne(objects, 'PeerAuthentication') as K8sObject & {
        spec: { mtls: { mode: string }; selector?: unknown };
      };
      expect(peer.spec.mtls.mode).toBe('STRICT');
      expect(peer.spec.selector).toBeUndefined(); // namespace-wide
    },
  );
});

describe('Services and their pods', () => {
  it.each(everyApp)('%s: the %s Service selects its Deployment pods', (_o, app, objects) => {
    const deployment = deploymentOf(objects, app);
    expect(
      labelsMatch(service(objects, app).spec.selector, deployment.spec.template.metadata.labels),
    ).toBe(true);
    expect(
      labelsMatch(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels),
    ).toBe(true);
  });

  it.each(everyApp)(
    '%s: %s Service targetPort and containerPort agree; probes go to PROBE_PORT',
    (_o, app, objects) => {
      const container = containerOf(objects, app);
      const port = service(objects, app).spec.ports[0];
      const named = container.ports?.find(
        (p) => p.name === port?.targetPort || p.containerPort === port?.targetPort,
      );
      expect(named?.containerPort).toBe(APP_PORT);
      expect(envValue(container, 'PORT')).toBe(String(APP_PORT));
      // The probes go to the probe listener (PROBE_PORT): its own accept queue, so a burst of
      // connections on the Service's port never delays them.
      const probes = container.ports?.find((p) => p.name === 'probes');
      expect(probes?.containerPort).toBeDefined();
      expect(probes?.containerPort).not.toBe(APP_PORT);
      expect(envValue(container, 'PROBE_PORT')).toBe(String(probes?.containerPort));
      for (const probe of [
        container.startupProbe,
        container.livenessProbe,
        container.readinessProbe,
      ]) {
        expect(['probes', probes?.containerPort]).toContain(probe?.httpGet?.port);
      }
      // Nothing else reaches it: the Service exposes the app port only.
      expect(service(objects, app).spec.ports).toHaveLength(1);
    },
  );

  it.each(everyApp)(
    '%s: %s probes liveness on /livez and readiness on /readyz',
    (_o, app, objects) => {
      const container = containerOf(objects, app);
      expect(container.livenessProbe?.httpGet?.path).toBe('/livez');
      expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
      expect(container.startupProbe?.httpGet?.path).toBe('/livez');
      // The startup probe gives a slow start up to 30 s before liveness may restart the pod.
      const startup = container.startupProbe as { periodSeconds: number; failureThreshold: number };
      expect(startup.periodSeconds * startup.failureThreshold).toBeGreaterThanOrEqual(20);
    },
  );
});

describe('the caller reaches the producer by one host name everywhere', () => {
  it('caller-cluster: PRODUCER_URL host is the ServiceExport clusterset name and the SE/DR/VS host', () => {
    const exported = findOne(producerCluster, 'ServiceExport');
    const producerService = service(producerCluster, 'sample-producer');
    expect(exported.metadata.name).toBe(producerService.metadata.name);
    expect(exported.metadata.namespace).toBe(producerService.metadata.namespace);
    const clustersetName = `${exported.metadata.name}.${exported.metadata.namespace}.svc.clusterset.local`;

    const url = new URL(envValue(containerOf(callerCluster, 'sample-caller'), 'PRODUCER_URL'));
    expect(url.hostname).toBe(clustersetName);
    expect(Number(url.port)).toBe(producerService.spec.ports[0]?.port);

    const entry = findOne(callerCluster, 'ServiceEntry').spec as {
      hosts: string[];
      location: string;
      resolution: string;
      ports: { number: number; protocol: string }[];
    };
    expect(entry.hosts).toEqual([clustersetName]);
    expect(entry.location).toBe('MESH_INTERNAL');
    expect(entry.ports).toEqual([
      expect.objectContaining({ number: Number(url.port), protocol: 'HTTP' }),
    ]);

    expect(producerDestinationRule(callerCluster).host).toBe(clustersetName);
    const vs = producerVirtualService(callerCluster);
    expect(vs.hosts).toEqual([clustersetName]);
    expect(vs.http.map((r) => r.route[0]?.destination)).toEqual([
      { host: clustersetName, port: { number: Number(url.port) } },
    ]);
  });

  it('single-cluster: PRODUCER_URL host is the producer Service cluster.local name and the DR/VS host', () => {
    const producerService = service(singleCluster, 'sample-producer');
    const localName = `${producerService.metadata.name}.${producerService.metadata.namespace}.svc.cluster.local`;
    expect(producerHostOf(singleCluster)).toBe(localName);
    expect(producerDestinationRule(singleCluster).host).toBe(localName);
    const vs = producerVirtualService(singleCluster);
    expect(vs.hosts).toEqual([localName]);
    expect(vs.http.every((r) => r.route.every((d) => d.destination.host === localName))).toBe(true);
    expect(findAll(singleCluster, 'ServiceEntry')).toEqual([]);
    expect(findAll(singleCluster, 'ServiceExport')).toEqual([]);
  });

  it('the ServiceExport lives only in the producer cluster and the ServiceEntry only in the caller cluster', () => {
    expect(findAll(callerCluster, 'ServiceExport')).toEqual([]);
    expect(findAll(producerCluster, 'ServiceEntry')).toEqual([]);
    // The apps' Deployments (add-ons such as the OpenTelemetry Collector run in both clusters).
    const appDeployments = (objects: K8sObject[]) =>
      findAll(objects, 'Deployment')
        .map((d) => d.metadata.name)
        .filter((name) => name.startsWith('sample-'));
    expect(appDeployments(producerCluster)).toEqual(['sample-producer-v1']);
    expect(appDeployments(callerCluster)).toEqual(['sample-caller-v1']);
  });
});

describe('timeouts, retries and ejection line up (docs/timeouts-retries-ejection.md)', () => {
  it.each([
    ['caller-cluster', callerCluster],
    ['single-cluster', singleCluster],
  ] as const)(
    '%s: the app deadline PRODUCER_TIMEOUT_MS is below the mesh VirtualService timeout',
    (_o, objects) => {
      const appTimeout = Number(
        envValue(containerOf(objects, 'sample-caller'), 'PRODUCER_TIMEOUT_MS'),
      );
      expect(appTimeout).toBe(3_000); // docs/contract.md default
      const routes = producerVirtualService(objects).http;
      for (const route of routes)
        expect(appTimeout).toBeLessThan(durationMs(route.timeout as string));
      expect(durationMs(routes[0]?.timeout as string)).toBe(5_000);
    },
  );

  it('caller-cluster: the VIP is never ejected, so the service-wide decision is the app breaker alone', () => {
    // Behind the clusterset VIP the sidecar sees one endpoint: ejecting it would be a second
    // breaker whose 503s ("no healthy upstream") re-open the app's breaker at its half-open
    // trial (ejection lasts baseEjectionTime x times ejected, ended only at an interval sweep).
    const caller = containerOf(callerCluster, 'sample-caller');
    const { outlierDetection, tls } = producerDestinationRule(callerCluster).trafficPolicy;
    expect(outlierDetection.consecutive5xxErrors).toBe(0);
    expect(outlierDetection.consecutiveGatewayErrors ?? 0).toBe(0);
    expect(Number(envValue(caller, 'BREAKER_FAILURE_THRESHOLD'))).toBe(3);
    expect(Number(envValue(caller, 'BREAKER_RESET_MS'))).toBe(15_000);
    expect(tls?.mode).toBe('ISTIO_MUTUAL');
  });

  it('single-cluster: per-replica ejection on the same "3 in a row", never of every replica', () => {
    const caller = containerOf(singleCluster, 'sample-caller');
    const { outlierDetection, tls } = producerDestinationRule(singleCluster).trafficPolicy;
    expect(outlierDetection.consecutive5xxErrors).toBe(
      Number(envValue(caller, 'BREAKER_FAILURE_THRESHOLD')),
    );
    const replicas =
      (deploymentOf(singleCluster, 'sample-producer').spec as { replicas?: number }).replicas ?? 1;
    const percent = outlierDetection.maxEjectionPercent ?? 10;
    // Envoy ejects at least one host whatever the percentage: with 2 replicas at 50 %, one stays.
    const ejectable = Math.max(1, Math.floor((replicas * percent) / 100));
    expect(replicas).toBeGreaterThanOrEqual(2);
    expect(ejectable).toBeLessThan(replicas);
    // A replica comes back after baseEjectionTime, at the next sweep: within base + interval.
    const firstEjectionMs =
      durationMs(outlierDetection.baseEjectionTime as string) +
      durationMs(outlierDetection.interval as string);
    expect(firstEjectionMs).toBeLessThanOrEqual(30_000);
    expect(tls?.mode).toBe('ISTIO_MUTUAL');
  });

  it.each([
    ['caller-cluster', callerCluster],
    ['single-cluster', singleCluster],
  ] as const)(
    '%s: the mesh retries only requests that never reached the producer',
    (_o, objects) => {
      for (const route of producerVirtualService(objects).http) {
        expect(route.retries?.attempts).toBeLessThanOrEqual(1);
        const conditions = (route.retries?.retryOn ?? '').split(',');
        for (const condition of conditions)
          expect(['connect-failure', 'refused-stream', 'reset-before-request']).toContain(
            condition,
          );
      }
    },
  );
});

describe('graceful shutdown fits in the pod lifecycle', () => {
  // The apps drain for their longest request + DRAIN_MARGIN_MS (service-kit's drainTimeoutFor),
  // past which close-with-grace exits 1: the caller's longest request is PRODUCER_TIMEOUT_MS
  // (a delay beyond it is cut by that deadline), the producer's MAX_DELAY_MS.
  const drainMarginMs = Number(
    /export const DRAIN_MARGIN_MS = ([\d_]+);/
      .exec(readFileSync(fromRepo('packages/service-kit/src/shutdown.ts'), 'utf8'))?.[1]
      ?.replaceAll('_', ''),
  );
  const longestRequestMs = (app: string, container: Container): number =>
    Number(envValue(container, app === 'sample-caller' ? 'PRODUCER_TIMEOUT_MS' : 'MAX_DELAY_MS'));
  const drainBoundMs = (app: string, container: Container): number =>
    longestRequestMs(app, container) + drainMarginMs;

  it('the drain margin is read from service-kit', () => {
    expect(drainMarginMs).toBeGreaterThan(0);
  });

  it.each(everyApp)('%s: %s drains for the longest request it may serve', (_o, app, objects) => {
    const container = containerOf(objects, app);
    if (app === 'sample-producer') {
      // A delayed answer of MAX_DELAY_MS (30 s) must finish, not be cut by the drain.
      expect(Number(envValue(container, 'MAX_DELAY_MS'))).toBe(30_000);
    }
    expect(drainBoundMs(app, container)).toBeGreaterThan(longestRequestMs(app, container));
  });

  it.each(everyApp)(
    '%s: %s SHUTDOWN_DELAY_MS + drain + flush < terminationGracePeriodSeconds',
    (_o, app, objects) => {
      const deployment = deploymentOf(objects, app);
      const container = containerOf(objects, app);
      const shutdownDelayMs = Number(envValue(container, 'SHUTDOWN_DELAY_MS'));
      expect(shutdownDelayMs).toBe(5_000); // docs/contract.md: 5000 in clusters
      const graceMs = (deployment.spec.template.spec.terminationGracePeriodSeconds ?? 30) * 1000;
      expect(shutdownDelayMs + drainBoundMs(app, container) + FLUSH_MARGIN_MS).toBeLessThan(
        graceMs,
      );
    },
  );

  it.each(everyApp)(
    '%s: %s sidecar waits for the app to start and outlives its shutdown',
    (_o, app, objects) => {
      const deployment = deploymentOf(objects, app);
      const container = containerOf(objects, app);
      const proxyConfig = parseYaml(
        deployment.spec.template.metadata.annotations?.['proxy.istio.io/config'] ?? '',
      ) as {
        holdApplicationUntilProxyStarts?: boolean;
        terminationDrainDuration?: string;
      };
      expect(proxyConfig.holdApplicationUntilProxyStarts).toBe(true);
      const drainMs = durationMs(proxyConfig.terminationDrainDuration as string);
      const appShutdownMs =
        Number(envValue(container, 'SHUTDOWN_DELAY_MS')) + drainBoundMs(app, container);
      expect(drainMs).toBeGreaterThanOrEqual(appShutdownMs);
      expect(drainMs).toBeLessThan(
        (deployment.spec.template.spec.terminationGracePeriodSeconds ?? 30) * 1000,
      );
    },
  );
});

describe('who may call the producer', () => {
  const trustDomain = /^TRUST_DOMAIN=(.+)$/m.exec(
    readFileSync(fromRepo('k8s/components/mesh-trust-domain/mesh-settings.env'), 'utf8'),
  )?.[1];

  it.each([
    ['producer-cluster', producerCluster],
    ['single-cluster', singleCluster],
  ] as const)(
    '%s: the AuthorizationPolicy admits only the caller ServiceAccount to POST /producer/messages',
    (_o, objects) => {
      const callerAccount = findOne(callerCluster, 'ServiceAccount', 'sample-caller-sa');
      const callerPod = deploymentOf(callerCluster, 'sample-caller').spec.template.spec;
      expect(callerPod.serviceAccountName).toBe(callerAccount.metadata.name);
      const principal = `${trustDomain}/ns/${callerAccount.metadata.namespace}/sa/${callerAccount.metadata.name}`;

      const policy = findOne(objects, 'AuthorizationPolicy').spec as {
        selector: { matchLabels: Record<string, string> };
        action?: string;
        rules: {
          from: { source: { principals: string[] } }[];
          to: { operation: { methods: string[]; paths: string[] } }[];
        }[];
      };
      expect(policy.action ?? 'ALLOW').toBe('ALLOW');
      expect(
        labelsMatch(
          policy.selector.matchLabels,
          deploymentOf(objects, 'sample-producer').spec.template.metadata.labels,
        ),
      ).toBe(true);
      expect(policy.rules).toEqual([
        {
          from: [{ source: { principals: [principal] } }],
          to: [{ operation: { methods: ['POST'], paths: ['/producer/messages'] } }],
        },
      ]);
    },
  );

  it('the trust domain defaults to cluster.local', () => {
    expect(trustDomain).toBe('cluster.local');
  });
});

describe('pods run hardened and with the identity the UI shows', () => {
  it.each(everyApp)(
    '%s: %s runs non-root, read-only, without privileges, seccomp RuntimeDefault',
    (_o, app, objects) => {
      const pod = deploymentOf(objects, app).spec.template.spec;
      const container = containerOf(objects, app);
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(container.securityContext).toMatchObject({
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(Number.isInteger(container.securityContext?.['runAsUser'])).toBe(true);
      expect(container.securityContext?.['runAsUser']).toBeGreaterThan(0);
      // /tmp is the one writable path.
      const tmp = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
      expect(pod.volumes?.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
    },
  );

  it.each(everyApp)(
    '%s: %s requests 256Mi of memory (as in the article) and caps it',
    (_o, app, objects) => {
      const { resources } = containerOf(objects, app);
      expect(resources?.requests?.['memory']).toBe('256Mi');
      expect(resources?.requests?.['cpu']).toBeDefined();
      expect(resources?.limits?.['memory']).toBeDefined();
    },
  );

  it.each(everyApp)(
    '%s: %s gets POD_NAME/POD_IP from the downward API and CLUSTER_NAME from the overlay',
    (overlay, app, objects) => {
      const container = containerOf(objects, app);
      const fieldOf = (name: string) =>
        container.env?.find((e) => e.name === name)?.valueFrom?.fieldRef?.fieldPath;
      expect(fieldOf('POD_NAME')).toBe('metadata.name');
      expect(fieldOf('POD_IP')).toBe('status.podIP');
      expect(envValue(container, 'CLUSTER_NAME')).toBe(overlay);
    },
  );

  it('the producer runs 2 replicas, protected by a PodDisruptionBudget that selects them', () => {
    for (const objects of [producerCluster, singleCluster]) {
      const producer = deploymentOf(objects, 'sample-producer');
      expect(producer.spec.replicas).toBe(2);
      const pdb = findOne(objects, 'PodDisruptionBudget').spec as {
        minAvailable: number;
        selector: { matchLabels: Record<string, string> };
      };
      expect(pdb.minAvailable).toBe(1);
      expect(labelsMatch(pdb.selector.matchLabels, producer.spec.template.metadata.labels)).toBe(
        true,
      );
    }
  });
});

describe('the UI through the ingress gateway', () => {
  it.each([
    ['caller-cluster', callerCluster],
    ['single-cluster', singleCluster],
  ] as const)(
    '%s: the Gateway VirtualService routes to the caller Service port and hides probes and metrics',
    (_o, objects) => {
      const gateway = findOne(objects, 'Gateway') as K8sObject & {
        spec: { selector: Record<string, string> };
      };
      expect(gateway.spec.selector).toEqual({ istio: 'ingressgateway' });
      const ui = findOne(objects, 'VirtualService', 'sample-caller-ui').spec as VirtualServiceSpec;
      expect(ui.gateways).toEqual([gateway.metadata.name]);
      const callerService = service(objects, 'sample-caller');
      const callerHost = `${callerService.metadata.name}.${callerService.metadata.namespace}.svc.cluster.local`;
      for (const route of ui.http) {
        expect(route.route[0]?.destination).toEqual({
          host: callerHost,
          port: { number: callerService.spec.ports[0]?.port },
        });
      }
      const hidden = ui.http.find((r) => r.fault?.abort?.httpStatus === 404);
      const hiddenPaths = (hidden?.match ?? []).map((m) => Object.values(m.uri)[0]);
      expect(hiddenPaths).toEqual(expect.arrayContaining(['/livez', '/readyz', '/metrics']));
      expect(ui.http.at(-1)?.match).toEqual([{ uri: { prefix: '/' } }]);
    },
  );
});

describe('dev overlays', () => {
  it.each(['caller-cluster', 'producer-cluster', 'single-cluster'])(
    "dev/%s differs from its production overlay only by the apps' writable root filesystem",
    (overlay) => {
      const production = render(`k8s/overlays/${overlay}`);
      const dev = structuredClone(render(`k8s/overlays/dev/${overlay}`));
      const apps = findAll(dev, 'Deployment').filter((d) => d.metadata.name.startsWith('sample-'));
      expect(apps.length).toBeGreaterThan(0);
      for (const deployment of apps) {
        const container = (deployment.spec as { template: { spec: { containers: Container[] } } })
          .template.spec.containers[0] as Container;
        expect(container.securityContext?.['readOnlyRootFilesystem']).toBe(false);
        (container.securityContext as Record<string, unknown>)['readOnlyRootFilesystem'] = true;
      }
      expect(dev).toEqual(production);
    },
  );
});

describe('telemetry export', () => {
  it.each(everyApp)(
    '%s: %s sends OTLP to a collector Service of the same overlay',
    (_o, app, objects) => {
      const endpoint = new URL(envValue(containerOf(objects, app), 'OTEL_EXPORTER_OTLP_ENDPOINT'));
      const [name, namespace = NAMESPACE] = endpoint.hostname.split('.');
      const collector = service(objects, name as string);
      expect(collector.metadata.namespace).toBe(namespace);
      expect(collector.spec.ports.map((p) => p.port)).toContain(Number(endpoint.port));
      const pods = findAll(objects, 'Deployment').filter((d) =>
        labelsMatch(
          collector.spec.selector,
          (d.spec as { template: { metadata: { labels: Record<string, string> } } }).template
            .metadata.labels,
        ),
      );
      expect(pods.length).toBe(1);
    },
  );
});

describe('fault knobs are an operator’s tool (docs/contract.md, "Fault knobs")', () => {
  const callerOverlays = [
    ['caller-cluster', callerCluster],
    ['single-cluster', singleCluster],
    ['dev/caller-cluster', render('k8s/overlays/dev/caller-cluster')],
    ['dev/single-cluster', render('k8s/overlays/dev/single-cluster')],
  ] as const;

  it.each(callerOverlays)(
    '%s: the caller reads FAULT_INJECTION_TOKEN from a required Secret that no manifest ships',
    (_o, objects) => {
      const entry = containerOf(objects, 'sample-caller').env?.find(
        (e) => e.name === 'FAULT_INJECTION_TOKEN',
      );
      expect(entry?.value).toBeUndefined();
      const ref = entry?.valueFrom?.secretKeyRef;
      expect(ref).toEqual({ name: 'sample-caller-fault-injection', key: 'token' });
      // Required: a missing Secret stops the pod instead of starting it with the knobs open.
      expect(ref?.optional ?? false).toBe(false);
      // The operator creates it (docs/two-clusters.md); a token in git would be no secret.
      expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    },
  );

  it('the docs show how to create that Secret', () => {
    const guide = readFileSync(fromRepo('docs/two-clusters.md'), 'utf8');
    expect(guide).toMatch(
      /kubectl[^\n]* -n istio-apps create secret generic sample-caller-fault-injection \\\n\s+--from-literal=token=/,
    );
  });
});
