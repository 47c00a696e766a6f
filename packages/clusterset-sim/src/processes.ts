/**
 * The state file and process spawning. Every process the simulation starts, and the state of
 * every link, is written to `<stateRoot>/<instance>/state.json` first, so `down` removes
 * everything even after a crash and `ClusterSet.attach` finds a running simulation.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { CutMode, LinkSettings, ProcessRecord } from './plan.js';
import type { ProducerClusterId, Topology } from './topology.js';

export const DEFAULT_STATE_ROOT = '/run/s2s-sim';

export interface LinkState extends LinkSettings {
  cut: CutMode | null;
}

export interface SimState {
  instance: number;
  createdAt: string;
  stateDir: string;
  gatewayUrl: string;
  topology: Topology;
  links: Record<ProducerClusterId, LinkState>;
  processes: Record<string, ProcessRecord>;
}

export function stateDirFor(stateRoot: string, instance: number): string {
  return path.join(stateRoot, String(instance));
}

export function readState(stateDir: string): SimState | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(stateDir, 'state.json'), 'utf8')) as SimState;
  } catch {
    return null;
  }
}

export function writeState(state: SimState): void {
  const file = path.join(state.stateDir, 'state.json');
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2));
  fs.renameSync(`${file}.tmp`, file);
}

function baseEnv(): Record<string, string> {
  // A clean environment: nothing from the calling shell (PRODUCER_URL, NODE_OPTIONS, VITEST…)
  // leaks into the apps.
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  if (process.env.HOME) env.HOME = process.env.HOME;
  return env;
}

/** Starts a record's process detached, in its namespace; resolves with its pid. */
export function spawnRecord(record: ProcessRecord): number {
  fs.mkdirSync(path.dirname(record.log), { recursive: true });
  const out = fs.openSync(record.log, 'a');
  try {
    const program = record.program ?? process.execPath;
    // An empty namespace means the root namespace (the reaper).
    const [command, args] = record.namespace
      ? ['ip', ['netns', 'exec', record.namespace, program, ...record.args]]
      : [program, record.args];
    const child = spawn(command, args, {
      cwd: record.cwd,
      env: { ...baseEnv(), ...record.env },
      detached: true,
      stdio: ['ignore', out, out],
    });
    child.on('error', () => {});
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${record.name}`);
    // `ip netns exec` execs the command, so this is the pid of the program itself.
    return child.pid;
  } finally {
    fs.closeSync(out);
  }
}
