// Figure 7, dashboard: server time of its pages, measured in process (app.request, no network) over a SQLite file
// store holding 10,000 runs of the signed-in person, against the target of 10 ms for the runs list. The time
// includes everything the server does for a page: the session lookup and its hash check, the API's own list handler,
// rendering and the security headers. The floor is that target, so the ratio reads as "fraction of the budget used".
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/coordinator/app.ts';
import { coordinatorConfig } from '../src/coordinator/config.ts';
import { systemClock } from '../src/domain/clock.ts';
import { FakeProvider } from '../src/providers/fake/fake-provider.ts';
import { openSqliteStore } from '../src/storage/sqlite.ts';
import { timeFigure, type Figure, type Section } from './lib/report.ts';
import { percentile } from './lib/stats.ts';

export const RUNS_LIST_TARGET_MS = 10;

export interface DashboardOptions {
  runs: number;
  requests: number;
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const id = (prefix: string, n: number) => `${prefix}_${n.toString(16).padStart(12, '0')}`;

export async function dashboardSection(o: DashboardOptions): Promise<Section> {
  const dir = mkdtempSync(join(tmpdir(), 'crabbox-bench-dashboard-'));
  const store = await openSqliteStore({ path: join(dir, 'coordinator.sqlite'), now: systemClock.now() });
  try {
    const now = systemClock.now();
    const owner = 'github-1001';
    // 10,000 finished runs of one owner over the last month, on 500 leases; another owner's beside them.
    await store.withTransaction(async (tx) => {
      for (let i = 0; i < o.runs * 2; i++) {
        const mine = i % 2 === 0;
        const createdAt = now - 30 * 86_400_000 + Math.floor((i / (o.runs * 2)) * 30 * 86_400_000);
        const run = await tx.createRun({ id: id('run', i), leaseId: id('cbx', Math.floor(i / 40)), slug: `lease-${Math.floor(i / 40)}`, provider: 'local', owner: mine ? owner : 'github-2002', org: 'acme', command: 'npm test', createdAt });
        await tx.finishRun(run.id, {
          exitCode: i % 7 === 0 ? 1 : 0, endedAt: createdAt + 42_000, timings: { lease: 900, sync: 400, command: 40_000, total: 42_000 }, logTail: 'ok\n',
          junit: { tests: 120, passed: 120, failures: 0, errors: 0, skipped: 0, time: 4.1, files: [], failed: [], failedOmitted: 0, warnings: [] },
        });
      }
    });
    const secret = hex(32);
    await store.createWebSession({
      id: hex(12), secretHash: createHash('sha256').update(secret).digest('hex'), owner, org: 'acme', login: 'alice', role: 'user',
      createdAt: now, lastSeenAt: now, expiresAt: now + 3_600_000, absoluteExpiresAt: now + 12 * 3_600_000,
    }, now);
    const session = (await store.listWebSessions(owner, now))[0]!;
    const cookie = `__Host-crabbox_session=${session.id}.${secret}`;
    const app = createApp({
      store, providers: { fake: new FakeProvider({ history: false }) }, clock: systemClock,
      config: coordinatorConfig({ defaultProvider: 'fake', auth: { sessionSecret: `bench-${hex(16)}` }, login: { publicUrl: 'https://coordinator.bench' } }),
    });
    const time = async (path: string): Promise<number[]> => {
      const request = async () => {
        const started = performance.now();
        const res = await app.request(`https://coordinator.bench${path}`, { headers: { cookie } });
        const body = await res.text();
        if (res.status !== 200 || !body.includes('</html>')) throw new Error(`${path} answered ${res.status}`);
        return performance.now() - started;
      };
      for (let i = 0; i < Math.min(20, o.requests); i++) await request();
      const samples: number[] = [];
      for (let i = 0; i < o.requests; i++) samples.push(await request());
      return samples;
    };
    const figures: Figure[] = [];
    const target = (f: Figure): Figure => ({ ...f, target: { text: `<= ${RUNS_LIST_TARGET_MS} ms`, met: f.value <= RUNS_LIST_TARGET_MS } });
    const runs = await time('/runs');
    const label = `${o.runs.toLocaleString('en-US')} runs stored`;
    figures.push(target(timeFigure({ name: `runs list page (GET /runs, 50 of ${label}) p50`, value: percentile(runs, 50), floorName: 'target', floor: RUNS_LIST_TARGET_MS, runs: runs.length })));
    figures.push(timeFigure({ name: `runs list page (GET /runs, ${label}) p95`, value: percentile(runs, 95), floorName: 'target', floor: RUNS_LIST_TARGET_MS, runs: runs.length }));
    const mine = await time('/');
    figures.push(timeFigure({ name: `Mine page (GET /, ${label}) p50`, value: percentile(mine, 50), floorName: 'target', floor: RUNS_LIST_TARGET_MS, runs: mine.length }));
    return { id: 'dashboard', title: 'Dashboard', figures, notes: [`server time in process (app.request), SQLite file store, session check included; ratio = share of the ${RUNS_LIST_TARGET_MS} ms budget`] };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
