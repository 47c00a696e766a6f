import type { LoadProgress } from './run-load.js';

/** The one-line live status shown on a terminal. */
export function renderProgress(progress: LoadProgress): string {
  const elapsed = (progress.elapsedMs / 1000).toFixed(1);
  return (
    `${progress.warmingUp ? 'warm-up ' : ''}${elapsed}s  sent ${progress.sent}  done ${progress.completed}  ` +
    `${Math.round(progress.rate)}/s  in flight ${progress.inFlight}  errors ${progress.errors}`
  );
}
