// Under a classic Istio sidecar a Job's pod keeps running after the load test exits (the proxy
// never stops by itself), so the Job never completes and activeDeadlineSeconds marks it failed
// even when the SLO held. Managed Cloud Service Mesh does not honour the
// sidecar.istio.io/nativeSidecar annotation, so completion cannot rely on a native sidecar:
// when SIDECAR_QUIT_URL is set (the Job sets http://127.0.0.1:15020/quitquitquit, the
// pilot-agent's endpoint), the CLI asks the proxy to quit once it is done, whatever its result,
// and keeps its own exit status. With a native sidecar the same request is harmless: the kubelet
// stops that proxy anyway once the load-test container has ended.

/** The env variable naming the proxy's quit endpoint; unset means "no sidecar to stop". */
export const SIDECAR_QUIT_URL_ENV = 'SIDECAR_QUIT_URL';

/** Bounded: a proxy that does not answer must not keep the finished load test alive. */
const QUIT_TIMEOUT_MS = 2_000;

/**
 * Reads SIDECAR_QUIT_URL: undefined when unset or empty; throws an Error naming the variable
 * when it is not an http(s) URL.
 */
export function sidecarQuitUrl(env: NodeJS.ProcessEnv): URL | undefined {
  const value = env[SIDECAR_QUIT_URL_ENV]?.trim();
  if (!value) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${SIDECAR_QUIT_URL_ENV} must be an http(s) URL, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`${SIDECAR_QUIT_URL_ENV} must be an http(s) URL, got "${value}"`);
  }
  return url;
}

/** POSTs to the proxy's quit endpoint; reports the answer and never throws. */
export async function quitSidecar(url: URL, report: (line: string) => void): Promise<void> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      signal: AbortSignal.timeout(QUIT_TIMEOUT_MS),
    });
    await response.body?.cancel();
    report(`asked the sidecar to quit (${url.href}): HTTP ${response.status}`);
  } catch (error) {
    report(`could not ask the sidecar to quit (${url.href}): ${(error as Error).message}`);
  }
}
