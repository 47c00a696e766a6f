// Requests nobody debugs with a trace: kubelet probes and Prometheus scrapes arrive every few
// seconds per pod and would drown the real traffic (and cost sampling budget).
export const UNTRACED_PATHS: ReadonlySet<string> = new Set(['/livez', '/readyz', '/metrics']);

/** `url` is a request target such as `/readyz?verbose`; the query string does not matter. */
export function isUntracedPath(url: string | undefined): boolean {
  if (url === undefined) return false;
  const queryAt = url.indexOf('?');
  return UNTRACED_PATHS.has(queryAt === -1 ? url : url.slice(0, queryAt));
}
