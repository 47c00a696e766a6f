// Whether a run measured the target or the generator itself. Latency counts from each request's
// scheduled send time, so a generator that falls behind its schedule (short of CPU, a long GC,
// a stalled event loop) adds its own lateness to every latency and to every SLO gate.
import type { ExactHistogram } from './histograms.js';
import { summarise } from './histograms.js';
import type { GeneratorHealth } from './result-types.js';

/**
 * Send-lag p99 above this makes a measurement invalid (exit 3). 50 ms: the lag is added to
 * the latencies it gates, and the usual p99 objectives of the cross-cluster call are a few
 * hundred ms (`p99<250ms` in the contract), so 50 ms of the generator's own lateness is the most
 * that still leaves the target's latency dominant; it is also the bench's rule for a
 * "sustained" rate (bench/), where a generator on a busy shared core stays within 25–47 ms.
 */
export const DEFAULT_MAX_SEND_LAG_P99_MS = 50;

export function judgeGenerator(
  sendLag: ExactHistogram,
  options: { maxSendLagP99Ms: number; missingWorkers: readonly number[]; workerCount: number },
): GeneratorHealth {
  const lag = summarise(sendLag);
  const sendLagMs = { p50: lag.p50, p99: lag.p99, max: lag.max };
  const reasons: string[] = [];
  if (options.missingWorkers.length > 0) {
    reasons.push(
      `no result from worker ${options.missingWorkers.join(', ')} of ${options.workerCount} (indices from 0)`,
    );
  }
  // No measured request is not the generator's fault: the SLO gates fail on it instead (no
  // samples never passes a gate).
  if (sendLag.histogram.totalCount > 0 && lag.p99 > options.maxSendLagP99Ms) {
    reasons.push(
      `the generator fell behind its schedule: send lag p99 ${lag.p99}ms is above ${options.maxSendLagP99Ms}ms`,
    );
  }
  return {
    sendLagMs,
    maxSendLagP99Ms: options.maxSendLagP99Ms,
    valid: reasons.length === 0,
    reason: reasons.length === 0 ? null : reasons.join('; '),
  };
}
