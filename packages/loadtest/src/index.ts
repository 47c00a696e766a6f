export { runLoad, type LoadOptions, type LoadProgress } from './run-load.js';
export type {
  LoadReport,
  LatencySummary,
  SecondSample,
  BreakerTransitionSeen,
  DistributionBucket,
  SloResult,
} from './result-types.js';
export { readEnvelope, type BreakerState, type EnvelopeReading } from './envelope.js';
export { parseSlo, evaluateSlo, type Objective } from './slo.js';
export { parseCommandLine, UsageError, type CliOptions } from './args.js';
export { parseDurationMs } from './duration.js';
export { renderSummary } from './summary.js';
export { renderHtmlReport } from './html-report.js';
