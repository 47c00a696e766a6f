// Every header docs/contract.md lists under "Echoed headers" comes back as [redacted], name kept.
import { describe, expect, it } from 'vitest';
import {
  REDACTED,
  isSecretHeader,
  redactEchoedHeaders,
  redactForwardedClientCert,
  redactHeaders,
} from '../src/redaction.js';

/** One header per rule of the contract, as a client, a gateway or the mesh would send it. */
export const SECRET_HEADERS: Readonly<Record<string, string>> = {
  authorization: 'Bearer s3cret-a',
  'proxy-authorization': 'Basic s3cret-b',
  cookie: 'sid=s3cret-c',
  'set-cookie': 'sid=s3cret-d',
  'x-auth-token': 's3cret-e', // token
  'x-csrf-token': 's3cret-f',
  'x-client-secret': 's3cret-g', // secret
  'x-api-key': 's3cret-h', // api-key
  apikey: 's3cret-i', // apikey
  'x-apikey-v2': 's3cret-j',
  'x-jwt': 's3cret-k', // jwt
  'x-session-id': 's3cret-l', // session
  'x-credentials': 's3cret-m', // credential
  'x-password': 's3cret-n', // password
  'x-goog-iap-jwt-assertion': 's3cret-o',
  'x-amz-security-token': 's3cret-p',
  'X-Upper-Token': 's3cret-q', // names compare case-insensitively
};

const XFCC_VALUE =
  'By=spiffe://cluster.local/ns/istio-apps/sa/sample-producer-sa;Hash=s3cret-hash;' +
  'Cert="-----BEGIN%20CERTIFICATE-----s3cret-cert;with,separators";' +
  'Chain="s3cret-chain";Subject="CN=caller, O=\\"Acme; Inc\\"";' +
  'URI=spiffe://cluster.local/ns/istio-apps/sa/sample-caller-sa;DNS=caller.example,' +
  'By=spiffe://b;hash=s3cret-second';

describe('redactHeaders', () => {
  it('replaces every listed credential header by [redacted] and keeps its name', () => {
    const redacted = redactHeaders({ ...SECRET_HEADERS, 'x-request-id': 'req-1', accept: '*/*' });
    for (const name of Object.keys(SECRET_HEADERS)) {
      expect(redacted[name], name).toBe(REDACTED);
      expect(isSecretHeader(name), name).toBe(true);
    }
    expect(redacted['x-request-id']).toBe('req-1');
    expect(redacted['accept']).toBe('*/*');
    expect(JSON.stringify(redacted)).not.toContain('s3cret');
  });

  it('redacts each value of a repeated header', () => {
    expect(redactHeaders({ 'set-cookie': ['a=s3cret', 'b=s3cret'] })).toEqual({
      'set-cookie': [REDACTED, REDACTED],
    });
  });

  it('keeps headers that only look alike', () => {
    for (const name of [
      'x-request-id',
      'traceparent',
      'tracestate',
      'baggage',
      'user-agent',
      'host',
    ])
      expect(isSecretHeader(name), name).toBe(false);
  });

  it('redacts Hash, Cert and Chain of x-forwarded-client-cert and keeps By, URI, DNS and Subject', () => {
    const redacted = redactHeaders({ 'x-forwarded-client-cert': XFCC_VALUE })[
      'x-forwarded-client-cert'
    ] as string;
    expect(redacted).not.toContain('s3cret');
    expect(redacted).toBe(
      'By=spiffe://cluster.local/ns/istio-apps/sa/sample-producer-sa;Hash=[redacted];' +
        'Cert=[redacted];Chain=[redacted];Subject="CN=caller, O=\\"Acme; Inc\\"";' +
        'URI=spiffe://cluster.local/ns/istio-apps/sa/sample-caller-sa;DNS=caller.example,' +
        'By=spiffe://b;hash=[redacted]',
    );
    expect(redactForwardedClientCert('By=a')).toBe('By=a');
  });

  it('redacts echoed headers of any shape (a producer’s answer)', () => {
    expect(
      redactEchoedHeaders({
        'x-api-key': 'k',
        'x-forwarded-client-cert': ['Hash=h;By=b'],
        'x-amz-security-token': { nested: 's3cret' },
        'x-other': 7,
      }),
    ).toEqual({
      'x-api-key': REDACTED,
      'x-forwarded-client-cert': ['Hash=[redacted];By=b'],
      'x-amz-security-token': REDACTED,
      'x-other': 7,
    });
  });
});
