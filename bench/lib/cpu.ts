// CPU time per operation, read from outside: the server's from /proc/<pid>/stat, the bench process's own (the load
// generator, on the same cores) from process.cpuUsage(). Both say what an operation cost, whatever else ran beside it.
import { readFileSync } from 'node:fs';
import type { LoadResult } from './load.ts';
import { median } from './stats.ts';

/** CPU time (user + system) a process has used, in ms, from /proc/<pid>/stat. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
}

export interface Counted {
  /** Median throughput over the repetitions. */
  perSecond: number;
  /** Median CPU of the server process per operation, ms. */
  serverCpuMs: number;
  /** Median CPU of this process (the client) per operation, ms. */
  clientCpuMs: number;
}

/** Runs each named workload `reps` times in turns (a, b, c, a, b, c, ...) and gives each one's medians. */
export async function repeated(reps: number, serverPid: number, workloads: { name: string; run: () => Promise<LoadResult> }[]): Promise<Map<string, Counted>> {
  const samples = new Map(workloads.map((w) => [w.name, { rates: [] as number[], server: [] as number[], client: [] as number[] }]));
  for (let rep = 0; rep < reps; rep++) {
    for (const w of workloads) {
      const server = cpuMs(serverPid);
      const client = process.cpuUsage();
      const result = await w.run();
      const used = process.cpuUsage(client);
      const s = samples.get(w.name)!;
      s.rates.push(result.perSecond);
      s.server.push((cpuMs(serverPid) - server) / result.count);
      s.client.push((used.user + used.system) / 1000 / result.count);
    }
  }
  return new Map([...samples].map(([name, s]) => [name, { perSecond: median(s.rates), serverCpuMs: median(s.server), clientCpuMs: median(s.client) }]));
}
