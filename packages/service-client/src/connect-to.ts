// curl's `--connect-to HOST1:PORT1:HOST2:PORT2`: requests for HOST1:PORT1 open their TCP connection to
// HOST2:PORT2 while the URL, the `Host` header and TLS SNI stay HOST1:PORT1. This is how a local run
// reaches `sample-producer.istio-apps.svc.clusterset.local:8080` without touching DNS or /etc/hosts.
import type { buildConnector } from 'undici';
import type { ConnectToRule } from './types.js';

const HOST_PATTERN = /^[A-Za-z0-9._~%-]*$/;

/**
 * Parses comma-separated curl `--connect-to` entries. An empty HOST1/PORT1 matches any host/port, an
 * empty HOST2/PORT2 keeps the original one (as in curl); IPv6 addresses go in brackets (`[::1]`).
 * Throws an Error naming the first bad entry.
 */
export function parseConnectTo(value: string): ConnectToRule[] {
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map(parseEntry);
}

/** Accepts the `connectTo` option's two forms. */
export function normaliseConnectTo(value: string | readonly string[] | undefined): ConnectToRule[] {
  if (value === undefined) return [];
  if (typeof value === 'string') return parseConnectTo(value);
  return value.flatMap((entry) => parseConnectTo(entry));
}

function parseEntry(entry: string): ConnectToRule {
  const fields = splitFields(entry);
  if (fields === null || fields.length !== 4) {
    throw new Error(`Invalid connectTo entry "${entry}": expected HOST1:PORT1:HOST2:PORT2`);
  }
  const [host, port, toHost, toPort] = fields as [string, string, string, string];
  return {
    host: parseHost(host, entry, 'HOST1').toLowerCase(),
    port: parsePort(port, entry, 'PORT1'),
    toHost: parseHost(toHost, entry, 'HOST2'),
    toPort: parsePort(toPort, entry, 'PORT2'),
  };
}

/** Splits on ':' outside brackets; returns null on an unclosed bracket. */
function splitFields(entry: string): string[] | null {
  const fields: string[] = [];
  let rest = entry;
  for (;;) {
    let field: string;
    if (rest.startsWith('[')) {
      const close = rest.indexOf(']');
      if (close === -1) return null;
      field = rest.slice(0, close + 1);
      rest = rest.slice(close + 1);
      if (rest !== '' && !rest.startsWith(':')) return null;
    } else {
      const colon = rest.indexOf(':');
      field = colon === -1 ? rest : rest.slice(0, colon);
      rest = colon === -1 ? '' : rest.slice(colon);
    }
    fields.push(field);
    if (rest === '') return fields;
    rest = rest.slice(1); // the ':'
    if (rest === '') {
      fields.push('');
      return fields;
    }
  }
}

function parseHost(field: string, entry: string, name: string): string {
  const host = field.startsWith('[') && field.endsWith(']') ? field.slice(1, -1) : field;
  const valid = field.startsWith('[') ? /^[0-9A-Fa-f:.]+$/.test(host) : HOST_PATTERN.test(host);
  if (!valid) throw new Error(`Invalid connectTo entry "${entry}": bad ${name} "${field}"`);
  return host;
}

function parsePort(field: string, entry: string, name: string): number {
  if (field === '') return 0;
  const port = /^\d{1,5}$/.test(field) ? Number(field) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new Error(
      `Invalid connectTo entry "${entry}": bad ${name} "${field}" (1-65535 or empty)`,
    );
  }
  return port;
}

/** The first rule matching `host:port`, as curl picks it. */
export function findConnectTo(
  rules: readonly ConnectToRule[],
  host: string,
  port: number,
): ConnectToRule | undefined {
  const wanted = host.toLowerCase();
  return rules.find(
    (r) => (r.host === '' || r.host === wanted) && (r.port === 0 || r.port === port),
  );
}

/**
 * Wraps undici's connector so sockets for a mapped HOST1:PORT1 open to HOST2:PORT2. undici keeps the
 * `Host` header (and SNI, derived from `options.host`) from the origin, so only the TCP target moves.
 * Name resolution stays with the system resolver (`dns.lookup` inside `net.connect`).
 */
export function connectToConnector(
  rules: readonly ConnectToRule[],
  connect: buildConnector.connector,
): buildConnector.connector {
  if (rules.length === 0) return connect;
  return (options, callback) => {
    const hostname = stripBrackets(options.hostname);
    const port = Number(options.port) || (options.protocol === 'https:' ? 443 : 80);
    const rule = findConnectTo(rules, hostname, port);
    if (rule === undefined) return connect(options, callback);
    return connect(
      {
        ...options,
        hostname: rule.toHost === '' ? hostname : rule.toHost,
        port: String(rule.toPort === 0 ? port : rule.toPort),
        // Keep TLS SNI on the original name, as curl does.
        ...(options.protocol === 'https:' ? { servername: options.servername ?? hostname } : {}),
      },
      callback,
    );
  };
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
