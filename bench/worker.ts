// Figure 6, the coordinator on Workers: the production Worker bundle (dist/worker/worker.js) in local workerd
// (Miniflare), its Durable Object SQLite persisted to disk, the in-memory fake provider; the same fixed workloads as
// upstream's Worker figures in issue 16, over loopback HTTP from this process, each printed as a ratio to upstream's.
// Every counted figure is the median of `reps` interleaved repetitions (the machine is shared: medians, not means).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { client, leaseCycle, LEASE_BODY, runPair, type Call } from './coordinator.ts';
import { FACTOR } from './coordinator-upstream.ts';
import { rssMiB, sampleRss } from './lib/coordinator-process.ts';
import { cpuMs, repeated } from './lib/cpu.ts';
import { closedLoop, forDuration, type LoadResult } from './lib/load.ts';
import { rateFigure, timeFigure, type Figure, type Section } from './lib/report.ts';
import { median, percentile } from './lib/stats.ts';

/** Upstream's Worker in the same workerd on this machine kind (issue 16). */
export const UPSTREAM_WORKER = {
  leaseCycles: { 1: 89, 8: 102 } as Record<number, number>,
  heartbeat64: { perSecond: 793, p99Ms: 360 },
  runPairs: { 1: 347, 8: 561 } as Record<number, number>,
  /** GET /v1/runs?limit=50 with 10,000 runs stored, p50. */
  listRunsP50Ms: 33,
  rssAt10kRunsMiB: 287,
};

export interface WorkerBenchOptions {
  reps: number;
  leases: number;
  cycles: number;
  pairs: number;
  clients: number[];
  heartbeatLevels: number[];
  heartbeatMs: number;
  fill: number;
  fillClients: number;
  listRequests: number;
}

/** A Worker that answers at once: what every request pays in this harness, whatever the Worker does. */
const TRIVIAL = { modules: true, script: 'export default { fetch() { return new Response("ok"); } }', compatibilityDate: '2026-07-01' } as const;

/** The workerd process Miniflare started (a child of this process), other than those in `not`. */
function workerdPid(not: ReadonlySet<number> = new Set()): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || not.has(Number(entry))) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && /\(workerd\)/.test(stat)) return Number(entry);
    } catch {
      // gone
    }
  }
  throw new Error('no workerd child process found');
}

const faster = (f: Figure): Figure => {
  f.target = { text: `>= ${FACTOR}x upstream's Worker (${(f.floor! * FACTOR).toFixed(0)} ${f.unit})`, met: f.value >= f.floor! * FACTOR };
  return f;
};
const quicker = (f: Figure): Figure => {
  f.target = { text: `<= upstream's Worker / ${FACTOR} (${(f.floor! / FACTOR).toFixed(1)} ${f.unit})`, met: f.value <= f.floor! / FACTOR };
  return f;
};

export async function workerSection(o: WorkerBenchOptions): Promise<Section> {
  const dir = mkdtempSync(join(tmpdir(), 'crabbox-bench-worker-'));
  const token = `bench-${randomBytes(16).toString('hex')}`;
  const figures: Figure[] = [];
  const mf = new Miniflare({
    modules: true,
    scriptPath: new URL('../dist/worker/worker.js', import.meta.url).pathname,
    modulesRoot: new URL('../dist/worker/', import.meta.url).pathname,
    compatibilityDate: '2026-07-01',
    compatibilityFlags: ['nodejs_compat'],
    durableObjects: { FLEET: { className: 'Fleet', useSQLite: true } },
    durableObjectsPersist: join(dir, 'do'),
    bindings: { CRABBOX_SHARED_TOKEN: token, CRABBOX_CONFIG: JSON.stringify({ providers: ['fake'], sweepInterval: '1h', orphanSweepInterval: '24h' }) },
  });
  try {
    const url = (await mf.ready).href.replace(/\/$/, '');
    const pid = workerdPid();
    const request: Call = client(url, token);
    // Every request the Worker is sent, so the memory floor below can be sent as many.
    let requests = 0;
    const call: Call = (method, path, body) => {
      requests++;
      return request(method, path, body);
    };
    const leases: string[] = [];
    for (let i = 0; i < o.leases; i++) leases.push((await call('POST', '/v1/leases', LEASE_BODY)).lease.id);

    // The harness floor: a Worker that answers "ok" at once, in a second workerd from the same Miniflare, through the
    // same client. Every request of the workloads below pays at least this; upstream's figures paid it too.
    let floorCpuMs = 0;
    const trivial = new Miniflare(TRIVIAL);
    try {
      const trivialUrl = (await trivial.ready).href;
      const trivialPid = workerdPid(new Set([pid]));
      const hello = async (): Promise<void> => void (await (await fetch(trivialUrl)).text());
      await closedLoop(1, 50, hello);
      const floors: number[] = [];
      const cpus: number[] = [];
      for (let rep = 0; rep < o.reps; rep++) {
        const before = cpuMs(trivialPid);
        const run = await closedLoop(1, Math.max(100, o.cycles), hello);
        floors.push(run.perSecond);
        cpus.push((cpuMs(trivialPid) - before) / run.count);
      }
      const floor = median(floors);
      floorCpuMs = median(cpus);
      figures.push(rateFigure({
        name: 'harness floor: a trivial Worker, 1 client', unit: 'req/s', value: floor, runs: o.reps,
        note: `${(1000 / floor).toFixed(2)} ms a request through this client; a 2-request cycle at 1 client cannot pass ${(floor / 2).toFixed(0)} cycles/s here, whatever the Worker does`,
      }));
      figures.push(timeFigure({
        name: 'harness floor: workerd CPU per request, trivial Worker', value: floorCpuMs, runs: o.reps,
        note: 'Miniflare\'s entry worker, the HTTP and the trivial Worker; the CPU figures below are ratios to it',
      }));
    } finally {
      await trivial.dispose();
    }

    // Lease create+release cycles and run create+finish pairs: medians of interleaved repetitions.
    const counted = await repeated(o.reps, pid, [
      ...o.clients.map((c) => ({ name: `cycles ${c}`, run: () => closedLoop(c, o.cycles, () => leaseCycle(call)) })),
      ...o.clients.map((c) => ({ name: `pairs ${c}`, run: () => closedLoop(c, o.pairs, (k) => runPair(call, leases[k % leases.length]!)) })),
    ]);
    for (const c of o.clients) {
      figures.push(faster(rateFigure({ name: `lease create+release, ${c} client${c > 1 ? 's' : ''}`, unit: 'cycles/s', value: counted.get(`cycles ${c}`)!.perSecond, floorName: "upstream's Worker", floor: UPSTREAM_WORKER.leaseCycles[c], runs: o.reps })));
    }
    for (const c of o.clients) {
      figures.push(faster(rateFigure({ name: `run create+finish (4 KiB log), ${c} client${c > 1 ? 's' : ''}`, unit: 'cycles/s', value: counted.get(`pairs ${c}`)!.perSecond, floorName: "upstream's Worker", floor: UPSTREAM_WORKER.runPairs[c], runs: o.reps })));
    }
    // CPU per operation, against two trivial requests: steadier than throughput on a shared machine (the time other
    // processes take is not in it), and it says how much of a cycle is the Worker's own work.
    const c1 = o.clients[0]!;
    for (const [name, key] of [['lease create+release', `cycles ${c1}`], ['run create+finish', `pairs ${c1}`]] as const) {
      figures.push(timeFigure({ name: `workerd CPU per ${name}, ${c1} client${c1 > 1 ? 's' : ''}`, value: counted.get(key)!.serverCpuMs, floorName: '2 trivial requests', floor: 2 * floorCpuMs, runs: o.reps }));
    }

    // Heartbeats over the live leases, each level for a fixed time; medians of the repetitions.
    for (const level of o.heartbeatLevels) {
      const beat = (c: number, i: number) => call('POST', `/v1/leases/${leases[(c + level * i) % leases.length]}/heartbeat`);
      await forDuration(level, Math.min(1000, o.heartbeatMs / 5), beat);
      const runs: LoadResult[] = [];
      for (let rep = 0; rep < o.reps; rep++) runs.push(await forDuration(level, o.heartbeatMs, beat));
      const rate = median(runs.map((r) => r.perSecond));
      const p99 = median(runs.map((r) => percentile(r.latencies, 99)));
      const count = runs.reduce((n, r) => n + r.count, 0);
      if (level === 64) {
        figures.push(faster(rateFigure({ name: `heartbeat, ${level} clients (${o.leases} leases)`, unit: 'req/s', value: rate, floorName: "upstream's Worker", floor: UPSTREAM_WORKER.heartbeat64.perSecond, runs: count })));
        figures.push(quicker(timeFigure({ name: `heartbeat p99, ${level} clients`, value: p99, floorName: "upstream's Worker", floor: UPSTREAM_WORKER.heartbeat64.p99Ms, runs: count })));
      } else {
        figures.push(rateFigure({ name: `heartbeat, ${level} client${level > 1 ? 's' : ''} (${o.leases} leases)`, unit: 'req/s', value: rate, runs: count, note: `p99 ${p99.toFixed(1)} ms; upstream published no figure at this level` }));
      }
    }

    // Fill the run history over HTTP to `fill` runs, RSS of workerd sampled from outside meanwhile; then list 50.
    const sampler = sampleRss(pid);
    const stored = o.reps * o.clients.length * o.pairs;
    if (o.fill > stored) await closedLoop(o.fillClients, o.fill - stored, (k) => runPair(call, leases[k % leases.length]!));
    await closedLoop(1, Math.max(1, Math.ceil(o.listRequests / 10)), () => call('GET', '/v1/runs?limit=50'));
    const list = await closedLoop(1, o.listRequests, () => call('GET', '/v1/runs?limit=50'));
    const rss = sampler.stop();
    figures.push(quicker(timeFigure({ name: `GET /v1/runs?limit=50 p50 (${Math.max(o.fill, stored)} runs stored)`, value: percentile(list.latencies, 50), floorName: "upstream's Worker", floor: UPSTREAM_WORKER.listRunsP50Ms, runs: o.listRequests, note: `p99 ${percentile(list.latencies, 99).toFixed(2)} ms` })));
    const rssFigure = timeFigure({ name: `workerd RSS while storing ${Math.max(o.fill, stored)} runs`, unit: 'MiB', value: rss.max, floorName: "upstream's Worker at 10,000", floor: UPSTREAM_WORKER.rssAt10kRunsMiB, runs: rss.samples, note: `largest VmRSS sample of the workerd process; ${rssMiB(pid).toFixed(0)} MiB at the end` });
    rssFigure.target = { text: "below upstream's Worker", met: rss.max < UPSTREAM_WORKER.rssAt10kRunsMiB };
    figures.push(rssFigure);

    // The memory floor: workerd's RSS grows with the requests it has served even for a Worker that stores nothing, so
    // the trivial Worker is sent as many requests (at the fill's concurrency) and its largest RSS sample is the floor.
    const empty = new Miniflare(TRIVIAL);
    try {
      const emptyUrl = (await empty.ready).href;
      const emptyPid = workerdPid(new Set([pid]));
      const emptySampler = sampleRss(emptyPid);
      await closedLoop(o.fillClients, requests, async () => void (await (await fetch(emptyUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).text()));
      const floorRss = emptySampler.stop();
      figures.push(timeFigure({ name: `harness floor: workerd RSS, trivial Worker after ${requests} requests`, unit: 'MiB', value: floorRss.max, runs: floorRss.samples, note: 'the same number of requests as the Worker above was sent, at the fill\'s concurrency; it stores nothing' }));
      const diff = rss.max - floorRss.max;
      rssFigure.note += `; ${Math.abs(diff).toFixed(0)} MiB ${diff >= 0 ? 'above' : 'below'} a trivial Worker sent as many requests`;
    } finally {
      await empty.dispose();
    }
  } finally {
    await mf.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    id: 'worker',
    title: 'Coordinator on Workers (workerd)',
    figures,
    notes: [
      'server: dist/worker/worker.js in local workerd (Miniflare), Durable Object SQLite persisted to disk, provider fake; load: fetch over loopback from the bench process',
      `medians of ${o.reps} interleaved repetitions; the machine is shared with other work, so single runs vary`,
    ],
  };
}
