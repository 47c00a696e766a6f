import { describe, expect, it } from 'vitest';
import { parseCommandLine, UsageError } from '../src/args.js';
import { parseDurationMs } from '../src/duration.js';
import { evaluateSlo, parseSlo } from '../src/slo.js';

const latency = { p50: 10, p90: 20, p99: 400, p999: 900, max: 1200, min: 1, mean: 15 };

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['45', 45_000],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(['', 'soon', '-1s', '10 parsecs', '1d', 's'])('rejects %j', (text) => {
    expect(parseDurationMs(text)).toBeNull();
  });
});

describe('SLO objectives', () => {
  it('parses latency and error objectives', () => {
    expect(parseSlo('p99=500ms, errors=1%,p99.9=2s,max=3s,errors=0.05')).toEqual([
      { kind: 'latency', key: 'p99', maxMs: 500, text: 'p99=500ms' },
      { kind: 'errors', maxRatio: 0.01, text: 'errors=1%' },
      { kind: 'latency', key: 'p999', maxMs: 2000, text: 'p99.9=2s' },
      { kind: 'latency', key: 'max', maxMs: 3000, text: 'max=3s' },
      { kind: 'errors', maxRatio: 0.05, text: 'errors=0.05' },
    ]);
  });

  it.each(['p42=1s', 'p99', 'p99=fast', 'errors=lots', 'errors=150%', ''])('rejects %j', (text) => {
    expect(() => parseSlo(text)).toThrow();
  });

  it('passes objectives at or below their limit and names the broken ones', () => {
    const result = evaluateSlo(parseSlo('p99=400ms,p999=500ms,errors=1%'), {
      latencyMs: latency,
      errorRatio: 0.02,
    });
    expect(result.passed).toBe(false);
    expect(result.objectives.map((o) => [o.objective, o.passed])).toEqual([
      ['p99=400ms', true],
      ['p999=500ms', false],
      ['errors=1%', false],
    ]);
    expect(result.objectives[2]).toMatchObject({ actual: '2.00%', threshold: '1.00%' });
  });
});

describe('command line', () => {
  it('fills in defaults and turns a bare origin into the caller endpoint', () => {
    const parsed = parseCommandLine([
      '--url',
      'http://127.0.0.1:8080',
      '--rate',
      '200',
      '--duration',
      '30s',
    ]);
    expect(parsed.help).toBe(false);
    if (parsed.help) return;
    expect(parsed.options).toMatchObject({
      rate: 200,
      durationMs: 30_000,
      warmupMs: 2000,
      connections: 128,
      delayMs: undefined,
      responseCode: undefined,
    });
    expect(parsed.options.url.href).toBe('http://127.0.0.1:8080/caller/messages');
  });

  it('keeps an explicit path and reads a percentage warm-up', () => {
    const parsed = parseCommandLine([
      '--url',
      'https://gw.example/api/caller/messages',
      '--rate',
      '0.5',
      '--duration',
      '10s',
      '--warmup',
      '20%',
    ]);
    if (parsed.help) throw new Error('unexpected help');
    expect(parsed.options.url.pathname).toBe('/api/caller/messages');
    expect(parsed.options.warmupMs).toBe(2000);
    expect(parsed.options.rate).toBe(0.5);
  });

  it('names the flag in every usage error', () => {
    try {
      parseCommandLine(['--url', 'ftp://x', '--rate', '1', '--duration', '1s']);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).flag).toBe('--url');
    }
  });
});
