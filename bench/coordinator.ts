// Figure 5, coordinator: the real `crabbox coordinator serve` (SQLite, the instant fake provider) under fixed
// workloads from this process over loopback HTTP, each target printed against upstream's figure for the same workload
// (bench/coordinator-upstream.ts), and its memory read from outside while the load runs.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FACTOR, UPSTREAM } from './coordinator-upstream.ts';
import { rssMiB, sampleRss, startInProcess, startServe, type CoordinatorProcess } from './lib/coordinator-process.ts';
import { repeated, type Counted } from './lib/cpu.ts';
import { closedLoop, forDuration, paced } from './lib/load.ts';
import { rateFigure, timeFigure, type Figure, type Section } from './lib/report.ts';
import { percentile } from './lib/stats.ts';

const PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJlbmNobWFya2tleWJlbmNobWFya2tleWJlbmNobWFy bench';
/** A 4 KiB log tail like a test run's last lines (base64 text in 76-character lines). */
const LOG_TAIL = (randomBytes(3 * 1024).toString('base64').match(/.{1,76}/g) ?? []).join('\n').slice(0, 4096);

export interface CoordinatorOptions {
  /** Repetitions of the counted workloads (cycles, pairs, the serve comparison); each figure is their median. */
  reps: number;
  /** Live leases for the heartbeat and list workloads. */
  leases: number;
  /** Lease create+release cycles per repetition, at each of `clients`. */
  cycleCounts: number[];
  /** Run create+finish pairs per repetition, at each of `clients`. */
  pairCounts: number[];
  clients: number[];
  heartbeatLevels: number[];
  heartbeatMs: number;
  /** The GET /v1/health floor's duration per level. */
  healthMs: number;
  /** Total runs stored at each fill step (10,000 and 100,000). */
  fills: number[];
  fillClients: number;
  listRequests: number;
  idleMs: number;
}

export type Call = (method: string, path: string, body?: string) => Promise<any>;

export function client(url: string, token: string): Call {
  const headers = { authorization: `Bearer ${token}`, 'x-crabbox-owner': 'bench', 'content-type': 'application/json' };
  return async (method, path, body) => {
    const res = await fetch(`${url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 200)}`);
    return text ? JSON.parse(text) : undefined;
  };
}

export const LEASE_BODY = JSON.stringify({ sshPublicKey: PUBLIC_KEY, provider: 'fake' });
const FINISH_BODY = JSON.stringify({ exitCode: 0, logTail: LOG_TAIL, timings: { sync: 3, command: 12 } });

export async function leaseCycle(call: Call): Promise<void> {
  const id = (await call('POST', '/v1/leases', LEASE_BODY)).lease.id as string;
  await call('POST', `/v1/leases/${id}/release`);
}

export async function runPair(call: Call, leaseId: string): Promise<void> {
  const id = (await call('POST', '/v1/runs', JSON.stringify({ leaseId, command: 'npm test' }))).run.id as string;
  await call('POST', `/v1/runs/${id}/finish`, FINISH_BODY);
}

/** Throughput target: at least FACTOR x upstream (the ratio floor/value is then at most 1/FACTOR). */
function throughputTarget(f: Figure): Figure {
  f.target = { text: `>= ${FACTOR}x upstream (${(f.floor! * FACTOR).toFixed(0)} ${f.unit})`, met: f.value >= f.floor! * FACTOR };
  return f;
}

/** Latency target: at most upstream / FACTOR. */
function latencyTarget(f: Figure): Figure {
  f.target = { text: `<= upstream / ${FACTOR} (${(f.floor! / FACTOR).toFixed(2)} ms)`, met: f.value <= f.floor! / FACTOR };
  return f;
}

/** Where an operation's CPU went: the server's, and the load generator's own on the same cores (at one client the two
 * run in turn, so the client's share bounds the throughput as much as the server's). */
function cpuNote(c: Counted, op: string): string {
  return `CPU per ${op}: server ${c.serverCpuMs.toFixed(2)} ms, this bench's client ${c.clientCpuMs.toFixed(2)} ms (fetch, same cores)`;
}

/** p50 and p99 of `requests` sequential GETs (after a tenth as many untimed). */
async function listLatency(call: Call, path: string, requests: number): Promise<{ p50: number; p99: number }> {
  await closedLoop(1, Math.max(1, Math.ceil(requests / 10)), () => call('GET', path));
  const r = await closedLoop(1, requests, () => call('GET', path));
  return { p50: percentile(r.latencies, 50), p99: percentile(r.latencies, 99) };
}

function listFigures(name: string, l: { p50: number; p99: number }, requests: number, upstream?: { p50Ms: number; p99Ms: number }): Figure[] {
  const spread = timeFigure({ name: `${name} p99 vs its p50`, value: l.p99, floorName: 'its p50', floor: l.p50, runs: requests });
  spread.target = { text: 'p99 <= 2x p50', met: l.p99 <= 2 * l.p50 };
  if (!upstream) return [timeFigure({ name: `${name} p50`, value: l.p50, runs: requests }), spread];
  return [
    latencyTarget(timeFigure({ name: `${name} p50`, value: l.p50, floorName: 'upstream', floor: upstream.p50Ms, runs: requests })),
    latencyTarget(timeFigure({ name: `${name} p99`, value: l.p99, floorName: 'upstream', floor: upstream.p99Ms, runs: requests })),
    spread,
  ];
}

/** The store's durability as the server's start-up line states it, e.g. `journal_mode=wal, synchronous=full`. */
async function durability(server: CoordinatorProcess): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const stated = /database \S+ .*?\(([^)]*synchronous[^)]*)\)/.exec(server.stderr())?.[1];
    if (stated) return stated;
    await sleep(100);
  }
  return 'not stated by the server';
}

export async function coordinatorSection(o: CoordinatorOptions): Promise<Section> {
  const dir = mkdtempSync(join(tmpdir(), 'crabbox-bench-coord-'));
  const token = `bench-${randomBytes(16).toString('hex')}`;
  const figures: Figure[] = [];
  const notes: string[] = [];
  const servers: CoordinatorProcess[] = [];
  try {
    const server = await startServe(join(dir, 'serve'), token);
    servers.push(server);
    notes.push(`server: crabbox coordinator serve (dist/), SQLite ${await durability(server)}, provider fake; load: fetch over loopback from the bench process`);
    const call = client(server.url, token);

    // 1. Idle with live leases; the floor is the same process idle right after start-up, with an empty store.
    await sleep(o.idleMs / 2);
    const empty = sampleRss(server.pid);
    await sleep(o.idleMs / 2);
    const emptyRss = empty.stop();
    const leases: string[] = [];
    for (let i = 0; i < o.leases; i++) leases.push((await call('POST', '/v1/leases', LEASE_BODY)).lease.id);
    await sleep(o.idleMs / 2);
    const idle = sampleRss(server.pid);
    await sleep(o.idleMs / 2);
    const idleRss = idle.stop();
    const idleFigure = timeFigure({ name: `RSS idle with ${o.leases} leases`, unit: 'MiB', value: idleRss.max, floorName: 'just started, empty store', floor: emptyRss.max, runs: idleRss.samples, note: 'largest VmRSS sample over the idle window, read from /proc; no forced GC' });
    idleFigure.target = { text: '< 120 MiB', met: idleRss.max < 120 };
    figures.push(idleFigure);
    figures.push(...listFigures(`GET /v1/leases?limit=100 (${o.leases} leases)`, await listLatency(call, '/v1/leases?limit=100', o.listRequests), o.listRequests, UPSTREAM.listLeases));

    // 2. Heartbeats: `level` clients over the live leases for a fixed time; the floor is GET /v1/health under the same load.
    for (const level of o.heartbeatLevels) {
      const heartbeat = (c: number, i: number) => call('POST', `/v1/leases/${leases[(c + level * i) % leases.length]}/heartbeat`);
      await forDuration(level, Math.min(1000, o.heartbeatMs / 5), heartbeat);
      const hb = await forDuration(level, o.heartbeatMs, heartbeat);
      const health = await forDuration(level, o.healthMs, () => call('GET', '/v1/health'));
      const p99 = timeFigure({ name: `heartbeat p99, ${level} clients`, value: percentile(hb.latencies, 99), floorName: 'GET /v1/health', floor: percentile(health.latencies, 99), runs: hb.count });
      const rate = rateFigure({ name: `heartbeat throughput, ${level} clients`, unit: 'req/s', value: hb.perSecond, floorName: 'GET /v1/health', floor: health.perSecond, runs: hb.count });
      figures.push(timeFigure({ name: `heartbeat p50, ${level} clients`, value: percentile(hb.latencies, 50), floorName: 'GET /v1/health', floor: percentile(health.latencies, 50), runs: hb.count }), p99, rate);
      if (level === 64) {
        figures.push(throughputTarget(rateFigure({ name: 'heartbeat throughput, 64 clients', unit: 'req/s', value: hb.perSecond, floorName: 'upstream', floor: UPSTREAM.heartbeat64.perSecond, runs: hb.count })));
        figures.push(latencyTarget(timeFigure({ name: 'heartbeat p99, 64 clients', value: percentile(hb.latencies, 99), floorName: 'upstream', floor: UPSTREAM.heartbeat64.p99Ms, runs: hb.count })));
      }
    }
    const pacedClients = Math.max(...o.heartbeatLevels);
    const pacedHb = await paced(pacedClients, pacedClients * 30, 100, (c) => call('POST', `/v1/leases/${leases[c % leases.length]}/heartbeat`));
    figures.push(timeFigure({ name: `heartbeat p99, ${pacedClients} clients paced (1 req/100 ms each)`, value: percentile(pacedHb, 99), runs: pacedHb.length, note: `p50 ${percentile(pacedHb, 50).toFixed(2)} ms; not saturated, unlike the closed loops above` }));

    // 3. Lease create+release cycles and run create+finish pairs, fixed counts, medians of the repetitions.
    const counted = await repeated(o.reps, server.pid, [
      ...o.clients.flatMap((clients) => o.cycleCounts.map((count) => ({ name: `cycles ${clients} ${count}`, run: () => closedLoop(clients, count, () => leaseCycle(call)) }))),
      ...o.clients.flatMap((clients) => o.pairCounts.map((count) => ({ name: `pairs ${clients} ${count}`, run: () => closedLoop(clients, count, (c) => runPair(call, leases[c % leases.length]!)) }))),
    ]);
    for (const clients of o.clients) {
      for (const count of o.cycleCounts) {
        figures.push(throughputTarget(rateFigure({ name: `lease create+release, ${clients} client${clients > 1 ? 's' : ''}, ${count} cycles`, unit: 'cycles/s', value: counted.get(`cycles ${clients} ${count}`)!.perSecond, floorName: 'upstream', floor: UPSTREAM.leaseCycles[clients], runs: o.reps, note: cpuNote(counted.get(`cycles ${clients} ${count}`)!, 'cycle') })));
      }
    }
    for (const clients of o.clients) {
      for (const count of o.pairCounts) {
        figures.push(throughputTarget(rateFigure({ name: `run create+finish (4 KiB log), ${clients} client${clients > 1 ? 's' : ''}, ${count} pairs`, unit: 'cycles/s', value: counted.get(`pairs ${clients} ${count}`)!.perSecond, floorName: 'upstream', floor: UPSTREAM.runPairs[clients], runs: o.reps, note: cpuNote(counted.get(`pairs ${clients} ${count}`)!, 'pair') })));
      }
    }

    // 4. Fill the run history over HTTP (the same pairs, more clients), RSS sampled from outside while it runs.
    let stored = o.reps * o.clients.length * o.pairCounts.reduce((a, b) => a + b, 0);
    for (const [step, target] of o.fills.entries()) {
      const sampler = sampleRss(server.pid);
      if (target > stored) await closedLoop(o.fillClients, target - stored, (c) => runPair(call, leases[c % leases.length]!));
      stored = Math.max(stored, target);
      const runsList = await listLatency(call, '/v1/runs', o.listRequests);
      const rss = sampler.stop();
      const rssFigure = timeFigure({ name: `RSS while storing runs ${step === 0 ? 0 : o.fills[step - 1]}..${target}`, unit: 'MiB', value: rss.max, runs: rss.samples, note: `largest VmRSS sample while the pairs and list requests ran; ${rss.last.toFixed(0)} MiB at the end` });
      Object.assign(rssFigure, { floorName: 'upstream at 10,000', floor: UPSTREAM.rssAfter10kRunsMiB, ratio: rss.max / UPSTREAM.rssAfter10kRunsMiB });
      if (step === o.fills.length - 1) rssFigure.target = { text: '< 150 MiB', met: rss.max < 150 };
      figures.push(rssFigure);
      figures.push(...listFigures(`GET /v1/runs (${target} runs)`, runsList, o.listRequests));
    }
    figures.push(...listFigures(`GET /v1/leases?limit=100 (${o.leases} live, ${stored} runs, history)`, await listLatency(call, '/v1/leases?limit=100', o.listRequests), o.listRequests, UPSTREAM.listLeases));
    await sleep(o.idleMs);
    figures.push(timeFigure({ name: 'RSS idle after all of the above', unit: 'MiB', value: rssMiB(server.pid), runs: 1 }));
    await server.stop();

    // 5. The real serve entry against the in-process reference (startCoordinator with stub host keys), both fresh.
    const fresh = await startServe(join(dir, 'serve-2'), token);
    servers.push(fresh);
    const reference = await startInProcess(dir, token);
    servers.push(reference);
    const [serveCall, refCall] = [client(fresh.url, token), client(reference.url, token)];
    const count = o.cycleCounts[0]!;
    await closedLoop(1, Math.ceil(count / 10), () => leaseCycle(serveCall));
    await closedLoop(1, Math.ceil(count / 10), () => leaseCycle(refCall));
    const compared = await repeated(o.reps, fresh.pid, [
      { name: 'serve', run: () => closedLoop(1, count, () => leaseCycle(serveCall)) },
      { name: 'reference', run: () => closedLoop(1, count, () => leaseCycle(refCall)) },
    ]);
    const entry = rateFigure({ name: `coordinator serve, lease create+release, 1 client, ${count} cycles`, unit: 'cycles/s', value: compared.get('serve')!.perSecond, floorName: 'in-process, stub host keys', floor: compared.get('reference')!.perSecond, runs: o.reps });
    entry.target = { text: 'within 20% of in-process', met: entry.ratio! <= 1.2 };
    figures.push(entry);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
  return { id: 'coordinator', title: 'Coordinator', figures, notes };
}
