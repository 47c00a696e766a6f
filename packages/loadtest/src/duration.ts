const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses `500ms`, `30s`, `1.5s`, `2m`, `1h` into milliseconds. A bare number means seconds
 * (`--duration 30` is what people type after using wrk). Returns `null` when the text is not
 * a duration, so the caller can name the offending flag.
 */
export function parseDurationMs(text: string): number | null {
  const match = DURATION_PATTERN.exec(text.trim());
  if (!match) return null;
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  const ms = value * (UNIT_MS[unit] ?? Number.NaN);
  return Number.isFinite(ms) ? ms : null;
}

/** Short human form used in summaries: `850ms`, `12.5s`, `2m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${round(ms, 1)}ms`;
  if (ms < 120_000) return `${round(ms / 1000, 2)}s`;
  return `${round(ms / 60_000, 2)}m`;
}

/** Latency with a precision that suits its size: `0.412ms`, `20.3ms`, `1234ms`. */
export function formatLatency(ms: number): string {
  if (ms < 1) return `${ms.toFixed(3)}ms`;
  if (ms < 100) return `${ms.toFixed(1)}ms`;
  return `${Math.round(ms)}ms`;
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
