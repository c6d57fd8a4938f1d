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

  /** One scenario: `prepare` before each round, then crabbox's run (checked by `expectSkip`) and rsync, in turns. */
  async function scenario(prepare: () => Promise<unknown> | void, expectSkip: boolean, what: string): Promise<{ crabbox: number; wall: number; rsync: number }> {
    const crabbox: number[] = [];
    const wall: number[] = [];
    const plain: number[] = [];
    for (let i = 0; i < o.runs + o.warmup; i++) {
      await prepare();
      const c = await run();
      if (c.result.syncSkipped !== expectSkip) throw new Error(`${what}: sync was ${c.result.syncSkipped ? 'skipped' : 'run'}`);
      const r = await rsync();
      if (i < o.warmup) continue;
      crabbox.push(c.result.timingsMs.sync ?? Number.NaN);
      wall.push(c.ms);
      plain.push(r.ms);
    }
    return { crabbox: median(crabbox), wall: median(wall), rsync: median(plain) };
  }

  const first = await scenario(wipe, false, 'first sync after emptying the box');
  const changed = await scenario(() => writeFileSync(join(repo, 'd0', 'f0.bin'), randomBytes(4096)), false, 'one changed file');
  await run();
  const noop = await scenario(() => undefined, true, 'no change (the fingerprint skip)');
  await wipe();

  const size = `${o.files} files, ${formatSize(o.bytes)}`;
  const firstFig = timeFigure({ name: `first sync (${size})`, value: first.crabbox, floorName: 'rsync -a', floor: first.rsync, runs: o.runs, note: `sync phase of the --json result; whole run wall time ${first.wall.toFixed(0)} ms` });
  firstFig.target = { text: 'within 1.2x of plain rsync', met: firstFig.ratio! <= 1.2 };
  const noopFig = timeFigure({ name: 'no change (fingerprint skip)', value: noop.crabbox, floorName: 'rsync -a no-op', floor: noop.rsync, runs: o.runs });
  noopFig.target = { text: 'faster than an rsync no-op', met: noopFig.ratio! < 1 };
  const changedFig = timeFigure({ name: 'one changed file', value: changed.crabbox, floorName: 'rsync -a', floor: changed.rsync, runs: o.runs });
  changedFig.target = { text: 'within 1.5x of plain rsync', met: changedFig.ratio! <= 1.5 };
  return { id: 'sync', title: 'Sync', figures: [firstFig, changedFig, noopFig] };
}
