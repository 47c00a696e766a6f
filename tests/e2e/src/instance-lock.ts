/**
 * One e2e run at a time per machine: a second run (another checkout, another shell) would
 * take the first one's simulation down. The lock is a file holding the owner's pid; a lock
 * whose owner is gone is taken over. Waiting is bounded.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

function ownerAlive(file: string): boolean {
  const pid = Number(fs.readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves with a release function once this process holds the lock. */
export async function acquireInstanceLock(file: string, timeoutMs: number): Promise<() => void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  let announced = false;
  for (;;) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let alive: boolean;
    try {
      alive = ownerAlive(file);
    } catch {
      continue; // released meanwhile
    }
    if (!alive) {
      fs.rmSync(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `another e2e run (pid ${fs.readFileSync(file, 'utf8').trim()}) still holds ${file} after ${timeoutMs} ms`,
      );
    }
    if (!announced) {
      console.log(`waiting for another e2e run to finish (lock ${file})`);
      announced = true;
    }
    await sleep(1000);
  }
}
