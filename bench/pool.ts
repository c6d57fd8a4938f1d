// Figure 9, warm pool claims against cold leases (issue 14): section `pool` of `npm run bench`.
// 1. local: a real coordinator process with a local pool (as root); `crabbox warmup --pool` until ssh works, against
//    `crabbox warmup` (a cold local box), and the same through the API (POST /v1/leases, then one ssh command).
// 2. fake Hetzner with 30 s of `initializing` on each create action (the fake on the real clock): a pool claim against
//    a cold lease through the coordinator API. There is no box behind a fake server, so the grant is the in-memory
//    FakeMachineAccess and "ssh works" is not part of this figure.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { systemClock } from '../src/domain/clock.ts';
import { createApp } from '../src/coordinator/app.ts';
import { coordinatorConfig } from '../src/coordinator/config.ts';
import { poolConfig } from '../src/coordinator/pool/config.ts';
import { reconcilePool } from '../src/coordinator/pool/reconcile.ts';
import { createLocalProvider } from '../src/providers/local/local-provider.ts';
import { FakeMachineAccess } from '../src/machine-access/fake.ts';
import { HetznerClient } from '../src/providers/hetzner/client.ts';
import { HetznerProvider } from '../src/providers/hetzner/provider.ts';
import { startFakeHetzner } from '../src/providers/hetzner/fake/serve.ts';
import { generateKeyPair } from '../src/providers/hetzner/fake/keys.ts';
import { openSqliteStore } from '../src/storage/sqlite.ts';
import { timeFigure, type Figure, type Section } from './lib/report.ts';
import { median, nowMs } from './lib/stats.ts';
import { startServe } from '../src/testing/serve.ts';
import { runBin } from '../src/testing/cli.ts';
import { isolatedEnv } from '../src/testing/tmp.ts';

const SHARED = 'bench-pool-shared-token-0123456789';

async function localFigures(runs: number): Promise<{ figures: Figure[]; notes: string[] }> {
  if (process.getuid?.() !== 0) return { figures: [], notes: ['local: not measured, a local pool needs root'] };
  const dir = mkdtempSync(join(tmpdir(), 'crabbox-bench-pool-'));
  const config = join(dir, 'coordinator.yaml');
  writeFileSync(config, 'sharedTokenRole: maintainer\nsweepInterval: 2s\npools:\n  bench: { provider: local, min: 2, max: 3 }\n');
  const server = await startServe(isolatedEnv(join(dir, 'coord'), { CRABBOX_SHARED_TOKEN: SHARED, CRABBOX_COORDINATOR_CONFIG: config }), ['--db', join(dir, 'c.sqlite'), '--providers', 'local']);
  const env = isolatedEnv(join(dir, 'user'), { CRABBOX_COORDINATOR: server.url, CRABBOX_COORDINATOR_TOKEN: SHARED, CRABBOX_OWNER: 'bench@example.com' });
  const headers = { authorization: `Bearer ${SHARED}`, 'x-crabbox-owner': 'bench@example.com', 'content-type': 'application/json' };
  const idle = async (): Promise<void> => {
    for (let i = 0; i < 300; i++) {
      const pools = (await (await fetch(`${server.url}/v1/pool`, { headers })).json()) as { pools: { machines: { idle: number } }[] };
      if ((pools.pools[0]?.machines.idle ?? 0) >= 2) return;
      await systemClock.sleep(100);
    }
    throw new Error('the bench pool never filled');
  };
  const cli = async (argv: string[]): Promise<{ ms: number; out: string }> => {
    const t = nowMs();
    const r = await runBin(argv, { env, cwd: dir, timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`crabbox ${argv.join(' ')} exited ${r.code}: ${r.stderr.trim().split('\n').at(-1)}`);
    return { ms: nowMs() - t, out: r.stdout };
  };
  // The API path: one POST, then one ssh command with the lease's key (what "ssh works" means).
  const keyDir = mkdtempSync(join(dir, 'key-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keyDir, 'id')]);
  const publicKey = readFileSync(join(keyDir, 'id.pub'), 'utf8').trim();
  const answerMs: number[] = [];
  const api = async (pool: boolean): Promise<number> => {
    const t = nowMs();
    const res = await fetch(`${server.url}/v1/leases`, { method: 'POST', headers, body: JSON.stringify({ sshPublicKey: publicKey, ...(pool ? { pool: true } : {}) }) });
    const { lease } = (await res.json()) as { lease: { id: string; machine: { host: string; ports: number[]; sshUser: string; hostKey: string } } };
    if (res.status !== 201) throw new Error(`POST /v1/leases answered ${res.status}`);
    if (pool) answerMs.push(nowMs() - t);
    const kh = join(keyDir, 'known_hosts');
    writeFileSync(kh, `[${lease.machine.host}]:${lease.machine.ports[0]} ${lease.machine.hostKey}\n`);
    execFileSync('ssh', ['-F', '/dev/null', '-i', join(keyDir, 'id'), '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${kh}`, '-o', 'StrictHostKeyChecking=yes', '-p', String(lease.machine.ports[0]), `${lease.machine.sshUser}@${lease.machine.host}`, 'true']);
    const ms = nowMs() - t;
    await fetch(`${server.url}/v1/leases/${lease.id}/release`, { method: 'POST', headers });
    return ms;
  };
  const times = { cliPool: [] as number[], cliCold: [] as number[], apiPool: [] as number[], apiCold: [] as number[] };
  try {
    for (let i = 0; i < runs; i++) {
      await idle();
      const pooled = await cli(['warmup', '--pool', '--json']);
      times.cliPool.push(pooled.ms);
      await cli(['stop', (JSON.parse(pooled.out) as { id: string }).id]);
      const cold = await cli(['warmup', '--json']);
      times.cliCold.push(cold.ms);
      await cli(['stop', (JSON.parse(cold.out) as { id: string }).id]);
      await idle();
      times.apiPool.push(await api(true));
      times.apiCold.push(await api(false));
    }
  } finally {
    await server.stop();
    const local = createLocalProvider({ stateDir: join(dir, 'coord', 'state', 'crabbox', 'coordinator') });
    for (const m of await local.list({})) await local.delete(m.providerId);
    rmSync(dir, { recursive: true, force: true });
  }
  const apiPool = median(times.apiPool);
  const figures: Figure[] = [
    timeFigure({ name: 'pool claim: warmup --pool until ssh works', value: median(times.cliPool), floorName: 'cold warmup', floor: median(times.cliCold), runs }),
    timeFigure({ name: 'pool claim: POST /v1/leases {pool} answered', value: median(answerMs), runs, note: 'the claim alone: transaction, user, key and workdir on the box' }),
    timeFigure({ name: 'pool claim: POST /v1/leases {pool} + ssh true', value: apiPool, floorName: 'cold POST + ssh true', floor: median(times.apiCold), runs, target: { text: 'p50 <= 300 ms on local', met: apiPool <= 300 } }),
  ];
  return { figures, notes: ['local: a real coordinator process, private sshds as root'] };
}

async function hetznerFigures(runs: number, createActionMs: number): Promise<{ figures: Figure[]; notes: string[] }> {
  const fake = await startFakeHetzner({ clock: systemClock, createActionMs, detachMs: 0 });
  const store = await openSqliteStore({ path: ':memory:', now: systemClock.now() });
  try {
    const provider = new HetznerProvider({ client: new HetznerClient({ token: fake.token, baseUrl: fake.url, clock: systemClock }), locations: ['fsn1'], clock: systemClock, pollMs: 500 });
    const config = coordinatorConfig({ defaultProvider: 'hetzner', auth: { sharedToken: SHARED, sharedTokenRole: 'maintainer' }, pools: [poolConfig({ name: 'cloud', provider: 'hetzner', min: runs, max: runs })] });
    const deps = { store, providers: { hetzner: provider }, clock: systemClock, config, access: { hetzner: new FakeMachineAccess() }, adminPublicKey: generateKeyPair('admin').publicKey };
    const app = createApp(deps);
    const headers = { authorization: `Bearer ${SHARED}`, 'x-crabbox-owner': 'bench@example.com', 'content-type': 'application/json' };
    const refill = nowMs();
    await reconcilePool(deps);
    const refillMs = nowMs() - refill;
    const key = generateKeyPair('lease').publicKey;
    const post = async (pool: boolean): Promise<number> => {
      const t = nowMs();
      const res = await app.request('/v1/leases', { method: 'POST', headers, body: JSON.stringify({ sshPublicKey: key, ...(pool ? { pool: true } : {}) }) });
      if (res.status !== 201) throw new Error(`POST /v1/leases answered ${res.status}: ${await res.text()}`);
      return nowMs() - t;
    };
    const pooled: number[] = [];
    for (let i = 0; i < runs; i++) pooled.push(await post(true));
    const cold = [await post(false)];
    const p50 = median(pooled);
    const secs = (createActionMs / 1000).toFixed(0);
    return {
      notes: [`fake Hetzner: ${secs} s of initializing per create, real time; refilling ${runs} machines took ${(refillMs / 1000).toFixed(1)} s; the box side is FakeMachineAccess (no box behind a fake server)`],
      figures: [timeFigure({ name: `fake Hetzner (${secs} s boot): POST /v1/leases {pool}`, value: p50, floorName: 'cold lease', floor: median(cold), runs, target: { text: 'p50 <= 1 s against the fake cloud', met: p50 <= 1000 } })],
    };
  } finally {
    await store.close();
    await fake.close();
  }
}

export interface PoolBenchOptions {
  /** Claims (and cold leases) on `local`. */
  runs: number;
  /** Claims against the fake Hetzner. */
  cloudRuns: number;
  /** How long each fake Hetzner create stays `initializing` (the figure: 30 s). */
  createActionMs: number;
}

export async function poolSection(o: PoolBenchOptions): Promise<Section> {
  const local = await localFigures(o.runs);
  const cloud = await hetznerFigures(o.cloudRuns, o.createActionMs);
  return { id: 'pool', title: 'Warm pool claims', figures: [...local.figures, ...cloud.figures], notes: [...local.notes, ...cloud.notes] };
}
