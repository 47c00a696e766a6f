// Caller envelopes (docs/contract.md, "Caller") the UI tests render or serve, including hostile
// ones.

export const XSS_IMG = '<img src=x onerror="window.__pwned=1">';
export const XSS_SCRIPT = '<script>window.__pwned=2</script>';
export const XSS_SVG = '<svg onload="window.__pwned=3"></svg>';

// The shape of @s2s/service-kit's Identity.
const callerMetadata = {
  service: 'sample-caller',
  clusterName: 'cluster-west',
  clusterLocation: 'us-west1-a',
  podName: 'sample-caller-7d9f8-abcde',
  podIp: '10.8.0.12',
  appVersion: 'v1',
  hostName: 'sample-caller-7d9f8-abcde',
};

const producerMetadata = {
  service: 'sample-producer',
  clusterName: 'cluster-central',
  clusterLocation: 'us-central1-a',
  podName: 'sample-producer-5c6b7-fghij',
  podIp: '10.20.1.7',
  appVersion: null,
  hostName: 'sample-producer-5c6b7-fghij',
};

export function okEnvelope(id = 'req-ok-1'): Record<string, unknown> {
  return {
    id,
    received: 'hello',
    statusCode: 200,
    outcome: 'ok',
    roundTripTimeMillis: 12.4,
    callerMetadata,
    producerMetadata,
    callerHeaders: { host: 'caller.example', 'user-agent': 'test', accept: 'application/json' },
    producerHeaders: {
      host: 'sample-producer.istio-apps.svc.clusterset.local:8080',
      'x-request-id': id,
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    },
    breaker: { state: 'closed' },
    traceId: '0af7651916cd43dd8448eb211c80319c',
  };
}

export function timeoutEnvelope(id = 'req-timeout-1', state = 'closed'): Record<string, unknown> {
  return {
    id,
    received: null,
    statusCode: null,
    outcome: 'timeout',
    roundTripTimeMillis: 3001.7,
    callerMetadata,
    producerMetadata: null,
    callerHeaders: { host: 'caller.example' },
    producerHeaders: null,
    breaker: { state },
    traceId: null,
  };
}

export function circuitOpenEnvelope(id = 'req-open-1'): Record<string, unknown> {
  return {
    id,
    received: null,
    statusCode: null,
    outcome: 'circuit_open',
    roundTripTimeMillis: 0.2,
    callerMetadata,
    producerMetadata: null,
    callerHeaders: { host: 'caller.example' },
    producerHeaders: null,
    breaker: { state: 'open' },
    traceId: null,
  };
}

export function upstreamErrorEnvelope(statusCode = 503): Record<string, unknown> {
  return {
    ...okEnvelope('req-err-1'),
    received: null,
    statusCode,
    outcome: 'upstream_error',
  };
}

/** Every data value, and every metadata/header key, carries markup that must stay text. */
export function hostileEnvelope(): Record<string, unknown> {
  return {
    id: XSS_SCRIPT,
    received: XSS_IMG,
    statusCode: 200,
    outcome: 'ok',
    roundTripTimeMillis: 5,
    callerMetadata: {
      clusterName: XSS_IMG,
      clusterLocation: XSS_SCRIPT,
      podName: XSS_SVG,
      podIp: '"><img src=x onerror=alert(1)>',
      appVersion: 'javascript:alert(1)',
      [XSS_IMG]: XSS_SCRIPT,
    },
    producerMetadata: {
      clusterName: XSS_SCRIPT,
      clusterLocation: XSS_IMG,
      podName: XSS_SVG,
      podIp: '10.0.0.1',
      appVersion: '<b>bold</b>',
    },
    callerHeaders: {
      'x-evil': XSS_IMG,
      [XSS_SCRIPT]: 'key is markup',
      'set-cookie': [XSS_SVG, XSS_IMG],
    },
    producerHeaders: { 'x-evil': XSS_SCRIPT, 'user-agent': XSS_SVG },
    breaker: { state: 'closed' },
    traceId: XSS_SVG,
  };
}
