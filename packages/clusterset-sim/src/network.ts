/**
 * Carries out the network part of the plan: namespaces, veth links, addresses, routes, the
 * delayer's TUN devices, and nftables rules (the ClusterSetIP in cluster-1, cuts in the links).
 * Every command is bounded in time (system.ts).
 */
import { spawn } from 'node:child_process';
import { networkSteps, namespacesOf } from './plan.js';
import type { NetworkStep } from './plan.js';
import { ip, ipQuiet, run, signal, waitForExit } from './system.js';
import type { Topology } from './topology.js';

function runStep(step: NetworkStep): Promise<string> {
  const [program, ...args] = step.argv as [string, ...string[]];
  if (step.ns === null) return run(program, args);
  // `ip -n` needs no fork of a shell into the namespace; anything else runs inside it.
  if (program === 'ip') return run('ip', ['-n', step.ns, ...args]);
  return run('ip', ['netns', 'exec', step.ns, program, ...args]);
}

export async function createNetwork(topology: Topology): Promise<void> {
  for (const step of networkSteps(topology)) await runStep(step);
}

/** Applies an nft script as one transaction, inside `ns` (null: this process's namespace). */
export function nftApply(ns: string | null, script: string, timeoutMs = 10_000): Promise<void> {
  const [command, args] = ns
    ? ['ip', ['netns', 'exec', ns, 'nft', '-f', '-']]
    : ['nft', ['-f', '-']];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`nft -f failed (${code ?? 'killed'}): ${stderr.trim()}\n${script}`));
    });
    child.stdin.end(script);
  });
}

/** Removes every namespace (killing what still runs in it) and the root-side veth. */
export async function removeNetwork(topology: Topology): Promise<string[]> {
  const removed: string[] = [];
  const existing = await ip('netns', 'list').catch(() => '');
  for (const name of namespacesOf(topology)) {
    if (!existing.split('\n').some((line) => line.split(' ')[0] === name)) continue;
    // Anything still running in the namespace (ours or a stray child) goes first.
    const pids = (await ip('netns', 'pids', name).catch(() => ''))
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((pid) => Number.isInteger(pid) && pid > 0);
    for (const pid of pids) signal(pid, 'SIGKILL');
    await Promise.all(pids.map((pid) => waitForExit(pid, 3000)));
    await ipQuiet('netns', 'del', name);
    removed.push(`netns ${name}`);
  }
  // Deleting a namespace destroys its veth pairs; the root side may take a moment.
  const hostSide = topology.veths.host.hostSide;
  if ((await ip('link', 'show', hostSide).catch(() => '')) !== '') {
    await ipQuiet('link', 'del', hostSide);
    removed.push(`link ${hostSide}`);
  }
  return removed;
}
