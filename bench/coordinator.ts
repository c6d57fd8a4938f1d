// Figure 5, coordinator: heartbeat latency and throughput at 1/16/64 concurrent clients over loopback HTTP (floor:
// GET /v1/health, the same HTTP round trip without store work), lease create+release cycles with an instant fake
// provider, and the process's memory after storing N runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { rateFigure, timeFigure, type Figure, type Section } from './lib/report.ts';
import { nowMs, percentile, timeOk } from './lib/stats.ts';

const PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJlbmNobWFya2tleWJlbmNobWFya2tleWJlbmNobWFy bench';
const here = (name: string): string => fileURLToPath(new URL(name, import.meta.url));

export interface CoordinatorOptions {
  levels: number[];
  /** Timed requests per concurrency level (after a warm-up round of the same count / 10). */
  requests: number;
  cycles: number;
  storedRuns: number;
}

interface Server {
  url: string;
  child: ChildProcess;
}

async function startServer(dir: string, token: string): Promise<Server> {
  const child = spawn(process.execPath, [here('coordinator-server.ts')], { env: { PATH: process.env.PATH, CRABBOX_SHARED_TOKEN: token, CRABBOX_BENCH_DB: join(dir, 'coordinator.db') }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => void (stderr += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the bench coordinator did not start in 30 s')), 30_000);
    createInterface({ input: child.stdout! }).once('line', (l) => {
      clearTimeout(timer);
      resolve(l);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the bench coordinator exited ${code}: ${stderr.trim()}`));
    });
  });
  return { url: (JSON.parse(line) as { url: string }).url, child };
}

function stopServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null) return resolve();
    server.child.once('exit', () => resolve());
    server.child.kill('SIGTERM');
  });
}

/** `requests` calls spread over `clients` concurrent loops; per-request latencies and overall throughput. */
async function load(clients: number, requests: number, call: (client: number) => Promise<void>): Promise<{ latencies: number[]; perSecond: number }> {
  const latencies: number[] = [];
  let issued = 0;
  const started = nowMs();
  await Promise.all(Array.from({ length: clients }, async (_, client) => {
    while (issued < requests) {
      issued++;
      const t = nowMs();
      await call(client);
      latencies.push(nowMs() - t);
    }
  }));
  return { latencies, perSecond: requests / ((nowMs() - started) / 1000) };
}

/**
 * Paced load: each of `clients` loops sends one request every `periodMs` (start times spread over the period), so
 * the server is not saturated and latency is service time rather than queueing.
 */
async function paced(clients: number, requests: number, periodMs: number, call: (client: number) => Promise<void>): Promise<number[]> {
  const latencies: number[] = [];
  const perClient = Math.max(1, Math.ceil(requests / clients));
  const start = nowMs();
  await Promise.all(Array.from({ length: clients }, async (_, client) => {
    for (let i = 0; i < perClient; i++) {
      const due = start + (client / clients) * periodMs + i * periodMs;
      const wait = due - nowMs();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const t = nowMs();
      await call(client);
      latencies.push(nowMs() - t);
    }
  }));
  return latencies;
}

export async function coordinatorSection(o: CoordinatorOptions): Promise<Section> {
  const dir = mkdtempSync(join(tmpdir(), 'crabbox-bench-coord-'));
  const token = `bench-${randomBytes(16).toString('hex')}`;
  const server = await startServer(dir, token);
  const headers = { authorization: `Bearer ${token}`, 'x-crabbox-owner': 'bench', 'content-type': 'application/json' };
  const call = async (method: string, path: string, body?: unknown): Promise<any> => {
    const res = await fetch(`${server.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 200)}`);
    return text ? JSON.parse(text) : undefined;
  };
  const figures: Figure[] = [];
  try {
    const maxClients = Math.max(...o.levels);
    const leases: string[] = [];
    for (let i = 0; i < maxClients; i++) leases.push((await call('POST', '/v1/leases', { sshPublicKey: PUBLIC_KEY, provider: 'fake' })).lease.id);
    for (const clients of o.levels) {
      const heartbeat = (c: number) => call('POST', `/v1/leases/${leases[c]}/heartbeat`);
      const health = () => call('GET', '/v1/health');
      await load(clients, Math.max(clients, Math.ceil(o.requests / 10)), heartbeat);
      const hb = await load(clients, o.requests, heartbeat);
      await load(clients, Math.max(clients, Math.ceil(o.requests / 10)), health);
      const floor = await load(clients, o.requests, health);
      figures.push(timeFigure({ name: `heartbeat p50, ${clients} clients`, value: percentile(hb.latencies, 50), floorName: 'GET /v1/health', floor: percentile(floor.latencies, 50), runs: o.requests }));
      const p99 = timeFigure({ name: `heartbeat p99, ${clients} clients`, value: percentile(hb.latencies, 99), floorName: 'GET /v1/health', floor: percentile(floor.latencies, 99), runs: o.requests });
      if (clients === 64) p99.target = { text: 'p99 < 10 ms at 64 clients (SQLite)', met: p99.value < 10 };
      figures.push(p99);
      figures.push(rateFigure({ name: `heartbeat throughput, ${clients} clients`, unit: 'req/s', value: hb.perSecond, floorName: 'GET /v1/health', floor: floor.perSecond, runs: o.requests }));
    }
    // 64 clients at ~640 requests/s in total: what a busy team's CLIs see when the server is not saturated.
    const pacedClients = Math.max(...o.levels);
    const pacedHb = await paced(pacedClients, o.requests, 100, (c) => call('POST', `/v1/leases/${leases[c]}/heartbeat`));
    const pacedHealth = await paced(pacedClients, o.requests, 100, () => call('GET', '/v1/health'));
    figures.push(timeFigure({ name: `heartbeat p99, ${pacedClients} clients paced (1 req/100 ms each)`, value: percentile(pacedHb, 99), floorName: 'GET /v1/health', floor: percentile(pacedHealth, 99), runs: pacedHb.length, note: `p50 ${percentile(pacedHb, 50).toFixed(2)} ms; not saturated, unlike the closed loops above` }));
    const cycle = async (): Promise<void> => {
      const id = (await call('POST', '/v1/leases', { sshPublicKey: PUBLIC_KEY, provider: 'fake' })).lease.id;
      await call('POST', `/v1/leases/${id}/release`);
    };
    await load(1, Math.max(1, Math.ceil(o.cycles / 10)), cycle);
    const cycles = await load(1, o.cycles, cycle);
    const pairs = await load(1, o.cycles, async () => {
      await call('GET', '/v1/health');
      await call('GET', '/v1/health');
    });
    figures.push(rateFigure({ name: 'lease create+release (instant fake provider)', unit: 'cycles/s', value: cycles.perSecond, floorName: '2x GET /v1/health', floor: pairs.perSecond, runs: o.cycles }));
  } finally {
    await stopServer(server);
  }
  try {
    const mem = JSON.parse((await timeOk([process.execPath, '--expose-gc', here('coordinator-memory.ts'), join(dir, 'memory.db'), String(o.storedRuns)])).stdout) as { before: { rss: number; heap: number }; after: { rss: number; heap: number } };
    const mib = (b: number): number => b / (1 << 20);
    figures.push(timeFigure({ name: `RSS after storing ${o.storedRuns} runs`, unit: 'MiB', value: mib(mem.after.rss), floorName: 'empty store', floor: mib(mem.before.rss), runs: 1 }));
    figures.push(timeFigure({ name: `heap after storing ${o.storedRuns} runs`, unit: 'MiB', value: mib(mem.after.heap), floorName: 'empty store', floor: mib(mem.before.heap), runs: 1 }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { id: 'coordinator', title: 'Coordinator', figures };
}
