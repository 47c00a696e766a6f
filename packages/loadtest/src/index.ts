export { runLoad, type LoadOptions, type LoadProgress } from './run-load.js';
export type {
  LoadReport,
  LatencySummary,
  SecondSample,
  BreakerTransitionSeen,
  DistributionBucket,
} from './report.js';
export { readEnvelope, type BreakerState, type EnvelopeReading } from './envelope.js';
export { parseSlo, evaluateSlo, type Objective, type SloResult } from './slo.js';
export { parseCommandLine, UsageError, type CliOptions } from './args.js';
export { parseDurationMs } from './duration.js';
export { renderSummary } from './summary.js';
export { renderHtmlReport } from './html-report.js';
