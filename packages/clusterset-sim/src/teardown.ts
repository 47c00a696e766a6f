/**
 * `downClusterSet`: removes everything an instance made — its processes (from the state file),
 * anything else still running in its namespaces, the namespaces (and with them every veth, TUN
 * device and nftables rule), the resolver files and the state. Safe when nothing is up and after
 * a crashed or interrupted `up`.
 */
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { removeResolvConfs } from './clusterset-dns.js';
import { removeNetwork } from './network.js';
import { namespacesOf } from './plan.js';
import { DEFAULT_STATE_ROOT, readState, stateDirFor } from './processes.js';
import { isAlive, signal, waitForExit } from './system.js';
import { topologyFor } from './topology.js';
import path from 'node:path';

export interface DownOptions {
  instance?: number;
  stateRoot?: string;
  /**
   * Keep the log files: `true` moves them to `<stateRoot>/<instance>.last-logs`, a path copies
   * them into that folder. **Default:** false.
   */
  keepLogs?: boolean | string;
}

/** Removes everything simulation `instance` made. Safe to call when nothing is up. */
export async function downClusterSet(options: DownOptions = {}): Promise<string[]> {
  const instance = options.instance ?? 0;
  const stateDir = stateDirFor(options.stateRoot ?? DEFAULT_STATE_ROOT, instance);
  const state = readState(stateDir);
  const removed: string[] = [];
  if (state) {
    // The reaper runs this very function: it must not signal itself.
    const running = Object.values(state.processes).filter(
      (record) => record.pid !== null && record.pid !== process.pid && isAlive(record.pid),
    );
    for (const record of running) signal(record.pid!, 'SIGTERM');
    const exited = await Promise.all(running.map((record) => waitForExit(record.pid!, 3000)));
    running.forEach((record, index) => {
      if (!exited[index]) signal(record.pid!, 'SIGKILL');
      removed.push(`process ${record.name} (pid ${record.pid})`);
    });
    await sleep(0);
  }
  const topology = topologyFor(instance);
  removed.push(...(await removeNetwork(topology)));
  removed.push(...removeResolvConfs(namespacesOf(topology)));
  if (fs.existsSync(stateDir)) {
    const logs = path.join(stateDir, 'logs');
    if (options.keepLogs && fs.existsSync(logs)) {
      const keep =
        typeof options.keepLogs === 'string' ? options.keepLogs : `${stateDir}.last-logs`;
      fs.rmSync(keep, { recursive: true, force: true });
      fs.cpSync(logs, keep, { recursive: true });
      removed.push(`(logs kept in ${keep})`);
    }
    fs.rmSync(stateDir, { recursive: true, force: true });
    removed.push(stateDir);
  }
  return removed;
}
