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

const measured = {
  requests: 1000,
  latencyMs: latency,
  errorRatio: 0.02,
  rate: 190,
  targetRate: 200,
};

describe('SLO objectives', () => {
  it('parses the contract form (<, <=, >=) and the older = (at most)', () => {
    expect(
      parseSlo('p99<250ms, errors<0.1%,p99.9<=2s,max=3s,errors=0.05,rate>=95%,rate>190'),
    ).toEqual([
      { kind: 'latency', key: 'p99', op: '<', limitMs: 250, text: 'p99<250ms' },
      { kind: 'errors', op: '<', limitRatio: 0.001, text: 'errors<0.1%' },
      { kind: 'latency', key: 'p999', op: '<=', limitMs: 2000, text: 'p99.9<=2s' },
      { kind: 'latency', key: 'max', op: '<=', limitMs: 3000, text: 'max=3s' },
      { kind: 'errors', op: '<=', limitRatio: 0.05, text: 'errors=0.05' },
      { kind: 'rate', op: '>=', limit: 0.95, relative: true, text: 'rate>=95%' },
      { kind: 'rate', op: '>', limit: 190, relative: false, text: 'rate>190' },
    ]);
  });

  it.each([
    'p42=1s',
    'p99',
    'p99=fast',
    'errors=lots',
    'errors=150%',
    'p99>1s',
    'rate<5',
    'rate>=fast',
    '',
  ])('rejects %j', (text) => {
    expect(() => parseSlo(text)).toThrow();
  });

  it('holds an objective at its limit with <= and =, not with <, and names the broken ones', () => {
    const result = evaluateSlo(
      parseSlo('p99=400ms,p99<=400ms,p99<400ms,p999<500ms,errors<1%,rate>=95%,rate>=190'),
      measured,
    );
    expect(result.passed).toBe(false);
    expect(result.objectives.map((o) => [o.objective, o.passed])).toEqual([
      ['p99=400ms', true],
      ['p99<=400ms', true],
      ['p99<400ms', false],
      ['p999<500ms', false],
      ['errors<1%', false],
      ['rate>=95%', true],
      ['rate>=190', true],
    ]);
    expect(result.objectives[4]).toMatchObject({ actual: '2.00%', threshold: '< 1.00%' });
    expect(result.objectives[5]).toMatchObject({ actual: '95.00% of 200/s (190/s)' });
  });

  it('fails every objective over no samples (never passes vacuously)', () => {
    const result = evaluateSlo(parseSlo('p99<1h,errors<=100%,rate>=0'), {
      ...measured,
      requests: 0,
      errorRatio: 0,
      rate: 0,
      latencyMs: { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, min: 0, mean: 0 },
    });
    expect(result.passed).toBe(false);
    expect(result.objectives.map((o) => [o.passed, o.actual])).toEqual([
      [false, 'no samples'],
      [false, 'no samples'],
      [false, 'no samples'],
    ]);
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
    if (parsed.command !== 'run') throw new Error('expected a run');
    expect(parsed.options).toMatchObject({
      rate: 200,
      durationMs: 30_000,
      warmupMs: 2000,
      connections: 128,
      delayMs: undefined,
      responseCode: undefined,
      maxSendLagP99Ms: 50,
      workers: undefined,
      worker: undefined,
      resultFile: undefined,
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
    if (parsed.command !== 'run') throw new Error('expected a run');
    expect(parsed.options.url.pathname).toBe('/api/caller/messages');
    expect(parsed.options.warmupMs).toBe(2000);
    expect(parsed.options.rate).toBe(0.5);
  });

  it('reads the scale-out flags and the merge subcommand', () => {
    const base = ['--url', 'http://127.0.0.1:8080', '--rate', '200', '--duration', '30s'];
    const worker = parseCommandLine([
      ...base,
      '--worker',
      '1/4',
      '--start-at',
      '1800000000000',
      '--run-id',
      'run-7',
      '--result',
      '-',
      '--max-send-lag',
      '20ms',
    ]);
    if (worker.command !== 'run') throw new Error('expected a run');
    expect(worker.options).toMatchObject({
      worker: { index: 1, count: 4 },
      startAt: 1_800_000_000_000,
      runId: 'run-7',
      resultFile: '-',
      maxSendLagP99Ms: 20,
    });
    // The forms a Job's START_AT takes: an ISO 8601 time with its zone, or "now" (no shared t0).
    const at = (text: string): number | undefined => {
      const parsed = parseCommandLine([...base, '--worker', '0/2', '--start-at', text]);
      if (parsed.command !== 'run') throw new Error('expected a run');
      return parsed.options.startAt;
    };
    expect(at('2027-01-15T08:00:00Z')).toBe(Date.UTC(2027, 0, 15, 8));
    expect(at('2027-01-15T09:00:00.250+01:00')).toBe(Date.UTC(2027, 0, 15, 8, 0, 0, 250));
    expect(at('now')).toBeUndefined();
    const merge = parseCommandLine(['merge', 'a.json', 'b.log', '--json', '-', '--slo', 'p99<1s']);
    expect(merge).toMatchObject({
      command: 'merge',
      options: { files: ['a.json', 'b.log'], jsonFile: '-', maxSendLagP99Ms: 50 },
    });
    for (const [args, flag] of [
      [[...base, '--worker', '4/4'], '--worker'],
      [[...base, '--worker', '1'], '--worker'],
      [[...base, '--workers', '2', '--worker', '0/2'], '--worker'],
      [[...base, '--workers', '0'], '--workers'],
      [[...base, '--workers', '2', '--result', 'r.json'], '--result'],
      [[...base, '--json', '-', '--result', '-'], '--result'],
      [[...base, '--start-at', 'soon'], '--start-at'],
      // No zone: local time would differ between pods.
      [[...base, '--start-at', '2027-01-15T08:00:00'], '--start-at'],
      [[...base, '--start-at', '$(START_AT)'], '--start-at'],
      [[...base, '--max-send-lag', 'x'], '--max-send-lag'],
      [['merge'], 'merge'],
      [['merge', 'a.json', '--rate', '5'], '--rate'],
    ] as const) {
      expect(() => parseCommandLine(args), args.join(' ')).toThrow(
        expect.objectContaining({ flag }) as Error,
      );
    }
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
