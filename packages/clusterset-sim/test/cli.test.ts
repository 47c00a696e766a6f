import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { topologyFor } from '../src/topology.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cli.js');

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({
        code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
        stdout,
        stderr,
      });
    });
  });
}

describe('clusterset-sim CLI', () => {
  it('prints the usage for --help', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /up\s+create cluster-1 \(caller\) and the exporting cluster-2 and cluster-3/,
    );
    for (const verb of ['kill', 'cut', 'slow', 'stop-reporting', 'resume-reporting', 'mcs']) {
      expect(stdout).toMatch(new RegExp(`^  ${verb} `, 'm'));
    }
  });

  it('exits 2 naming the problem for an unknown command or a bad flag value', async () => {
    const unknown = await runCli(['launch']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "launch"');
    const bad = await runCli(['up', '--rtt-ms', 'fast']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--rtt-ms');
    const noCluster = await runCli(['cut', '--cluster', 'cluster-9']);
    expect(noCluster.code).toBe(2);
    expect(noCluster.stderr).toContain('--cluster cluster-2, cluster-3 or all');
  });

  it('reports that nothing is up for status on an unused instance', async () => {
    const { code, stderr } = await runCli(['status', '--instance', '15']);
    expect(code).toBe(1);
    expect(stderr).toContain('no clusterset simulation is up');
  });
});

describe('topologyFor', () => {
  it('keeps every address in 198.18.0.0/15 and apart between instances', () => {
    const seen = new Set<string>();
    for (const instance of [0, 1, 15]) {
      const { addresses, producerClusters } = topologyFor(instance);
      const all = [
        ...Object.values(addresses).flat(),
        ...producerClusters.flatMap((cluster) =>
          Object.entries(cluster.addresses)
            .filter(([key]) => key !== 'podSubnet')
            .map(([, address]) => address),
        ),
      ];
      // producers lists the pod addresses again: count each once.
      for (const address of new Set(all)) {
        expect(address).toMatch(/^198\.1[89]\.\d+\.\d+$/);
        expect(seen.has(address)).toBe(false);
        seen.add(address);
      }
    }
    expect(() => topologyFor(16)).toThrow(/0\.\.15/);
  });

  it('names interfaces within the 15-character limit of Linux', () => {
    const { veths, producerClusters } = topologyFor(15);
    const names = [
      ...Object.values(veths.host),
      ...producerClusters.flatMap((cluster) => Object.values(cluster.veths)),
    ];
    expect(names).toHaveLength(10);
    for (const name of names) expect(name.length).toBeLessThanOrEqual(15);
  });
});
