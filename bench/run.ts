// `npm run bench`: builds the CLI, then measures Crabbox against its floors on this machine (the `local` provider
// and a local coordinator), prints a table and writes bench/results.json. `--quick`: each figure once, small sizes
// (the test suite runs this so the benchmarks never rot). `--only a,b` runs some sections (startup, warm, cold,
// sync, scale, coordinator, worker, streaming, dashboard, pool). Exit 1 when a section failed; its error is in the table and the JSON.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { coordinatorSection } from './coordinator.ts';
import { dashboardSection } from './dashboard.ts';
import { poolSection } from './pool.ts';
import { BenchWorkspace, type WarmLease } from './lib/box.ts';
import { renderResults, type Results, type Section } from './lib/report.ts';
import { coldSection, streamingSection, warmRerunSection, type RemoteOptions } from './remote.ts';
import { startupSection } from './startup.ts';
import { scaleSection } from './scale.ts';
import { syncSection } from './sync.ts';
import { workerSection } from './worker.ts';

const SECTIONS = ['startup', 'warm', 'cold', 'sync', 'scale', 'coordinator', 'worker', 'streaming', 'dashboard', 'pool'] as const;
type SectionId = (typeof SECTIONS)[number];
const TITLES: Record<SectionId, string> = { startup: 'CLI start-up', warm: 'Warm rerun, no changes', cold: 'Cold one-shot', sync: 'Sync', scale: 'Scale', coordinator: 'Coordinator', worker: 'Coordinator on Workers (workerd)', streaming: 'Output streaming', dashboard: 'Dashboard', pool: 'Warm pool claims' };

function parseArgs(argv: string[]): { quick: boolean; only: SectionId[]; out: string; build: boolean } {
  let quick = false;
  let build = true;
  let only: SectionId[] = [...SECTIONS];
  let out = fileURLToPath(new URL('results.json', import.meta.url));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') quick = true;
    else if (arg === '--no-build') build = false;
    else if (arg === '--only' && argv[i + 1]) {
      only = argv[++i]!.split(',') as SectionId[];
      const bad = only.find((s) => !SECTIONS.includes(s));
      if (bad) usage(`unknown section ${JSON.stringify(bad)}; expected ${SECTIONS.join(', ')}`);
    } else if (arg === '--out' && argv[i + 1]) out = argv[++i]!;
    else usage(`unknown argument ${JSON.stringify(arg)}`);
  }
  return { quick, only, out, build };
}

function usage(message: string): never {
  process.stderr.write(`bench: ${message}\nusage: npm run bench -- [--quick] [--only ${SECTIONS.join(',')}] [--out FILE] [--no-build]\n`);
  process.exit(64);
}

const root = fileURLToPath(new URL('..', import.meta.url));
const has = (path: string): boolean => existsSync(new URL(`../${path}`, import.meta.url));
/** What each section needs from the codebase; a missing piece makes it "not available", never a made-up number. */
const NEEDS: Partial<Record<SectionId, { path: string; what: string }>> = {
  warm: { path: 'src/cli/commands/run.ts', what: '`crabbox run` is not on this branch' },
  cold: { path: 'src/cli/commands/run.ts', what: '`crabbox run` is not on this branch' },
  sync: { path: 'src/cli/commands/run.ts', what: '`crabbox run` is not on this branch' },
  scale: { path: 'src/sync/scan.ts', what: 'the incremental sync scan is not on this branch' },
  streaming: { path: 'src/cli/commands/run.ts', what: '`crabbox run` is not on this branch' },
  coordinator: { path: 'src/coordinator/entry/node.ts', what: 'the coordinator is not on this branch' },
  dashboard: { path: 'src/dashboard/app.ts', what: 'the dashboard is not on this branch' },
  pool: { path: 'src/coordinator/pool/reconcile.ts', what: 'the warm pool is not on this branch' },
};

const opts = parseArgs(process.argv.slice(2));
const q = opts.quick;
const size = {
  runs: q ? 1 : 15,
  warmup: q ? 0 : 2,
  coldRuns: q ? 1 : 5,
  syncRuns: q ? 1 : 3,
  syncFiles: q ? 100 : 10_000,
  syncBytes: q ? 1_000_000 : 100_000_000,
  streamBytes: q ? 1_000_000 : 100_000_000,
};

if (opts.build) execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });

const loadAtStart = loadavg()[0]!;
const sections: Section[] = [];
let failed = false;
const remote = opts.only.some((s) => ['warm', 'cold', 'sync', 'scale', 'streaming'].includes(s)) && has(NEEDS.warm!.path);
const ws = remote ? new BenchWorkspace() : undefined;
let lease: WarmLease | undefined;
let repo = '';
let warmFloorMs: number | undefined;
let stopping = false;

// Ctrl-C or a kill: no new section starts, and the `finally` below releases every lease and removes the workspace
// once the step in flight has ended (its crabbox child gets Ctrl-C too). A second signal releases at once.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) {
      process.stderr.write(`bench: ${signal} again, releasing leases now…\n`);
      void (ws?.close() ?? Promise.resolve()).finally(() => process.exit(130));
      return;
    }
    stopping = true;
    process.exitCode = 130;
    process.stderr.write(`bench: ${signal}, stopping after the current step; leases are released on the way out\n`);
  });
}

async function section(id: SectionId, measure: () => Promise<Section>): Promise<void> {
  if (!opts.only.includes(id) || stopping) return;
  const need = NEEDS[id];
  if (need && !has(need.path)) {
    sections.push({ id, title: TITLES[id], figures: [], unavailable: `not available: ${need.what}` });
    return;
  }
  process.stderr.write(`bench: ${id}…\n`);
  try {
    sections.push(await measure());
  } catch (error) {
    failed = true;
    sections.push({ id, title: TITLES[id], figures: [], unavailable: `failed: ${(error as Error).message}` });
  }
}

try {
  await section('startup', () => startupSection({ runs: q ? 1 : 20, warmup: q ? 0 : 3 }));
  if (ws) {
    repo = ws.repo('repo', [['README.md', '# bench\n'], ['src/index.js', 'console.log(1);\n']]);
    lease = await ws.warmup(repo);
  }
  const r = (): RemoteOptions => ({ ws: ws!, lease: lease!, repo, runs: size.runs, warmup: size.warmup, coldRuns: size.coldRuns, streamBytes: size.streamBytes });
  await section('warm', async () => {
    const s = await warmRerunSection(r());
    warmFloorMs = s.figures[0]?.value;
    return s;
  });
  await section('cold', () => coldSection({ ...r(), warmFloorMs }));
  await section('sync', () => syncSection({ ws: ws!, lease: lease!, files: size.syncFiles, bytes: size.syncBytes, runs: size.syncRuns, warmup: q ? 0 : 1 }));
  await section('scale', () => scaleSection({ ws: ws!, lease: lease!, sizes: q ? [100, 200, 400, 800] : [1_000, 10_000, 50_000, 200_000], runs: q ? 1 : 5, warmup: q ? 0 : 1 }));
  await section('coordinator', () =>
    coordinatorSection(
      q
        ? { reps: 1, leases: 100, cycleCounts: [10, 20], pairCounts: [10, 20], clients: [1, 8], heartbeatLevels: [1, 16, 64], heartbeatMs: 300, healthMs: 200, fills: [200, 400], fillClients: 16, listRequests: 20, idleMs: 200 }
        : { reps: 3, leases: 100, cycleCounts: [500, 1000], pairCounts: [500, 1000], clients: [1, 8], heartbeatLevels: [1, 16, 64], heartbeatMs: 10_000, healthMs: 3000, fills: [10_000, 100_000], fillClients: 16, listRequests: 1000, idleMs: 2000 },
    ),
  );
  await section('worker', () =>
    workerSection(
      q
        ? { reps: 1, leases: 100, cycles: 10, pairs: 10, clients: [1, 8], heartbeatLevels: [1, 16, 64], heartbeatMs: 300, fill: 200, fillClients: 16, listRequests: 20 }
        : { reps: 3, leases: 100, cycles: 500, pairs: 500, clients: [1, 8], heartbeatLevels: [1, 16, 64], heartbeatMs: 5000, fill: 10_000, fillClients: 16, listRequests: 500 },
    ),
  );
  await section('streaming', () => streamingSection({ ...r(), runs: q ? 1 : 5, warmup: q ? 0 : 1 }));
  // 10,000 runs even in --quick: the target is about that many.
  await section('dashboard', () => dashboardSection({ runs: 10_000, requests: q ? 20 : 300 }));
  // --quick keeps the fake cloud's boot short: the claim does not wait for it, only the refill before does.
  await section('pool', () => poolSection({ runs: q ? 1 : 7, cloudRuns: q ? 1 : 5, createActionMs: q ? 2000 : 30_000 }));
} finally {
  await ws?.close();
}

const results: Results = {
  version: 1,
  date: new Date().toISOString(),
  quick: q,
  machine: { cpus: cpus().length, platform: `${process.platform}-${process.arch}`, node: process.version, loadAverage: [loadAtStart, loadavg()[0]!] },
  sections: SECTIONS.flatMap((id) => sections.filter((s) => s.id === id)),
  leases: [...(ws?.leases ?? [])],
  boxesRoot: ws?.boxes,
  stateDir: ws ? join(ws.env.XDG_STATE_HOME!, 'crabbox') : undefined,
};
writeFileSync(opts.out, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`${renderResults(results)}\n\nwrote ${opts.out}\n`);

process.exitCode = stopping ? 130 : failed ? 1 : 0;
