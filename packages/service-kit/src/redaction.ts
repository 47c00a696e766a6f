// Echoed headers never show a credential (docs/contract.md, "Echoed headers"): one rule for the
// caller's callerHeaders and producerHeaders and the producer's echoed headers. A redacted header
// keeps its name, so a person still sees what the mesh or a gateway added.
export const REDACTED = '[redacted]';

/** Credentials by exact name. */
const SECRET_HEADER_NAMES = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  // Identity-Aware Proxy's signed assertion and AWS's session token carry bearer credentials.
  'x-goog-iap-jwt-assertion',
  'x-amz-security-token',
]);

/** Any name containing one of these is a credential (x-auth-token, x-api-key, x-session-id, …). */
const SECRET_NAME_PARTS = /token|secret|api-key|apikey|jwt|session|credential|password/;

/** Whether a header's whole value is withheld. */
export function isSecretHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return SECRET_HEADER_NAMES.has(lower) || SECRET_NAME_PARTS.test(lower);
}

// x-forwarded-client-cert (Envoy): elements separated by ',', key=value pairs by ';', values
// optionally quoted with backslash escapes. Hash/Cert/Chain identify or carry the client's
// certificate; By/URI/DNS/Subject name the workloads and stay readable.
const XFCC = 'x-forwarded-client-cert';
const XFCC_SECRET_KEYS = new Set(['hash', 'cert', 'chain']);

/** `x-forwarded-client-cert` with the Hash, Cert and Chain values replaced by `[redacted]`. */
export function redactForwardedClientCert(value: string): string {
  let out = '';
  let pair = '';
  let quoted = false;
  const flush = (): void => {
    const equals = pair.indexOf('=');
    const key = equals === -1 ? '' : pair.slice(0, equals).trim().toLowerCase();
    out += XFCC_SECRET_KEYS.has(key) ? `${pair.slice(0, equals)}=${REDACTED}` : pair;
    pair = '';
  };
  for (let index = 0; index < value.length; index += 1) {
    const char = value[index] as string;
    if (quoted && char === '\\' && index + 1 < value.length) {
      pair += char + (value[index + 1] as string);
      index += 1;
      continue;
    }
    if (char === '"') quoted = !quoted;
    if (!quoted && (char === ';' || char === ',')) {
      flush();
      out += char;
      continue;
    }
    pair += char;
  }
  flush();
  return out;
}

function redactValue(name: string, value: unknown): unknown {
  if (isSecretHeader(name)) return Array.isArray(value) ? value.map(() => REDACTED) : REDACTED;
  if (name.toLowerCase() === XFCC) {
    if (typeof value === 'string') return redactForwardedClientCert(value);
    if (Array.isArray(value)) {
      return value.map((item) =>
        typeof item === 'string' ? redactForwardedClientCert(item) : REDACTED,
      );
    }
    return REDACTED;
  }
  return value;
}

/** Request headers as they may be echoed: every credential's value replaced by `[redacted]`. */
export function redactHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): Record<string, string | string[]> {
  const echoed: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) echoed[name] = redactValue(name, value) as string | string[];
  }
  return echoed;
}

/**
 * Headers another service echoed (of any shape, e.g. the producer's `headers`), redacted by the
 * same rule, so an older or foreign producer cannot show a credential through this service.
 */
export function redactEchoedHeaders(
  headers: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const echoed: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers)) echoed[name] = redactValue(name, value);
  return echoed;
}
