export { runLoad, runLoadResult, type LoadOptions, type LoadProgress } from './run-load.js';
export type {
  LoadReport,
  LatencySummary,
  SecondSample,
  BreakerTransitionSeen,
  DistributionBucket,
  SloResult,
  ProducerShare,
  GeneratorHealth,
  WorkerShare,
  CallerBreakerSource,
} from './result-types.js';
export {
  BreakerEventsWatcher,
  defaultEventsUrl,
  type CallerBreakerRecord,
  type CallerTransition,
} from './breaker-events.js';
export {
  encodeResult,
  parseResults,
  decodeResult,
  ResultFileError,
  RESULT_FORMAT,
  type LoadResult,
  type LoadResultFile,
} from './load-result.js';
export { mergeResults, MergeError, type MergeOptions } from './merge.js';
export { DEFAULT_MAX_SEND_LAG_P99_MS } from './generator-health.js';
export { readEnvelope, type BreakerState, type EnvelopeReading } from './envelope.js';
export { parseSlo, evaluateSlo, type Objective } from './slo.js';
export { parseCommandLine, UsageError, type CliOptions, type MergeCliOptions } from './args.js';
export { parseDurationMs } from './duration.js';
export { renderSummary } from './summary.js';
export { renderHtmlReport } from './html-report.js';
