// Figure 4, sync: a generated repo synced by `crabbox run` against plain `rsync -a` of the same files over the same
// ssh (the lease's ControlMaster): first sync, one changed file, and no change (fingerprint skip vs rsync no-op).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type BenchWorkspace, type WarmLease, leaseRsh, sshMaster } from './lib/box.ts';
import { timeFigure, type Section } from './lib/report.ts';
import { median, timeOk } from './lib/stats.ts';
import { formatSize } from './remote.ts';

export interface SyncOptions {
  ws: BenchWorkspace;
  lease: WarmLease;
  files: number;
  bytes: number;
  runs: number;
  warmup: number;
}

/** `count` files of random bytes (sizes spread around bytes/count) in folders of 100. */
function* generated(count: number, total: number): Generator<[string, Buffer]> {
  const mean = Math.max(1, Math.floor(total / count));
  for (let i = 0; i < count; i++) {
    const size = Math.max(1, Math.round(mean * (0.5 + ((i * 7919) % 1000) / 1000)));
    yield [`d${Math.floor(i / 100)}/f${i}.bin`, randomBytes(size)];
  }
}

export async function syncSection(o: SyncOptions): Promise<Section> {
  const repo = o.ws.repo('sync-repo', generated(o.files, o.bytes));
  const run = () => o.ws.runJson(['--id', o.lease.slug, '--', 'true'], repo);
  const pwd = await o.ws.runJson(['--id', o.lease.slug, '--', 'pwd'], repo);
  const workdir = pwd.stderr.split('\n').find((l) => l.startsWith('/'));
  if (!workdir) throw new Error('could not learn the box workdir from `crabbox run -- pwd`');
  const metadir = join(dirname(workdir), '.crabbox', workdir.slice(dirname(workdir).length + 1));
  const rsync = () => timeOk(['rsync', '-a', '--exclude=/.git', '-e', leaseRsh(o.lease), `${repo}/`, `${o.lease.target.host}:bench-rsync/`]);
  const wipe = (): Promise<unknown> => timeOk(sshMaster(o.lease, `rm -rf '${workdir}' '${metadir}' bench-rsync`));

  const first = { crabbox: [] as number[], wall: [] as number[], rsync: [] as number[] };
  for (let i = 0; i < o.runs + o.warmup; i++) {
    await wipe();
    const c = await run();
    if (c.result.syncSkipped) throw new Error('first sync was skipped: the box workdir was not reset');
    const r = await rsync();
    if (i < o.warmup) continue;
    first.crabbox.push(c.result.timingsMs.sync ?? Number.NaN);
    first.wall.push(c.ms);
    first.rsync.push(r.ms);
  }

  const changed = { crabbox: [] as number[], rsync: [] as number[] };
  for (let i = 0; i < o.runs + o.warmup; i++) {
    writeFileSync(join(repo, 'd0', 'f0.bin'), randomBytes(4096));
    const c = await run();
    if (c.result.syncSkipped) throw new Error('a changed file did not sync');
    const r = await rsync();
    if (i < o.warmup) continue;
    changed.crabbox.push(c.result.timingsMs.sync ?? Number.NaN);
    changed.rsync.push(r.ms);
  }

  const noop = { crabbox: [] as number[], rsync: [] as number[] };
  await run();
  for (let i = 0; i < o.runs + o.warmup; i++) {
    const c = await run();
    if (!c.result.syncSkipped) throw new Error('an unchanged tree was synced again (fingerprint skip missed)');
    const r = await rsync();
    if (i < o.warmup) continue;
    noop.crabbox.push(c.result.timingsMs.sync ?? Number.NaN);
    noop.rsync.push(r.ms);
  }
  await wipe();

  const size = `${o.files} files, ${formatSize(o.bytes)}`;
  const firstFig = timeFigure({ name: `first sync (${size})`, value: median(first.crabbox), floorName: 'rsync -a', floor: median(first.rsync), runs: o.runs, note: `sync phase of the --json result; whole run wall time ${median(first.wall).toFixed(0)} ms` });
  firstFig.target = { text: 'within 1.2x of plain rsync', met: firstFig.ratio! <= 1.2 };
  const noopFig = timeFigure({ name: 'no change (fingerprint skip)', value: median(noop.crabbox), floorName: 'rsync -a no-op', floor: median(noop.rsync), runs: o.runs });
  noopFig.target = { text: 'faster than an rsync no-op', met: noopFig.ratio! < 1 };
  return {
    id: 'sync',
    title: 'Sync',
    figures: [firstFig, timeFigure({ name: 'one changed file', value: median(changed.crabbox), floorName: 'rsync -a', floor: median(changed.rsync), runs: o.runs }), noopFig],
  };
}
