// Figure 7, scale: warm reruns of `crabbox run --id <warm> -- true` in generated repositories of growing size (about
// 1 KB per committed file), with nothing changed and with one file changed, each beside `git status` on the same tree.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type BenchWorkspace, type WarmLease, sshMaster } from './lib/box.ts';
import { timeFigure, type Figure, type Section } from './lib/report.ts';
import { median, timeOk } from './lib/stats.ts';

export interface ScaleOptions {
  ws: BenchWorkspace;
  lease: WarmLease;
  /** Four sizes: the targets compare the third with the first, and hold the fourth's no-change run under 0.5 s. */
  sizes: readonly [number, number, number, number];
  runs: number;
  warmup: number;
}

/** A committed repository of `files` files of about 1 KB, 100 per folder. */
function generate(dir: string, files: number): void {
  mkdirSync(dir, { recursive: true });
  const body = 'x'.repeat(1000);
  for (let i = 0; i < files; i++) {
    if (i % 100 === 0) mkdirSync(join(dir, `d${i / 100}`));
    writeFileSync(join(dir, `d${Math.floor(i / 100)}`, `f${i}.txt`), `${body}${i}\n`);
  }
  const git = (...args: string[]): void => void execFileSync('git', ['-c', 'user.email=bench@crabbox.invalid', '-c', 'user.name=bench', '-c', 'commit.gpgsign=false', ...args], { cwd: dir, stdio: 'ignore', maxBuffer: 1 << 30 });
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'bench');
}

interface SizeResult {
  files: number;
  noChange: number;
  oneChange: number;
  gitStatus: number;
  /** The runs' own `total` (process start to exit, from --json), medians. */
  noChangeTotal: number;
  oneChangeTotal: number;
}

async function measureSize(o: ScaleOptions, files: number): Promise<SizeResult> {
  const repo = join(o.ws.root, `scale-${files}`);
  let workdir: string | undefined;
  generate(repo, files);
  try {
    // 200 000 files is over the default sync.maxFiles (150 000): these runs say they mean it.
    const run = () => o.ws.runJson(['--id', o.lease.slug, '--allow-large', '--', 'true'], repo);
    const first = await o.ws.runJson(['--id', o.lease.slug, '--allow-large', '--', 'pwd'], repo); // the first sync of this tree, not timed
    if (first.result.syncSkipped) throw new Error(`scale ${files}: the first run did not sync`);
    workdir = first.stderr.split('\n').find((l) => l.startsWith('/'));
    const samples = { noChange: [] as number[], oneChange: [] as number[], gitStatus: [] as number[], noChangeTotal: [] as number[], oneChangeTotal: [] as number[] };
    for (let round = 0; round < o.warmup + o.runs; round++) {
      const same = await run();
      if (!same.result.syncSkipped) throw new Error(`scale ${files}: a rerun with nothing changed synced`);
      const status = await timeOk(['git', 'status', '--porcelain'], { cwd: repo });
      // A different file every round: each one was clean in the index until now.
      const folder = (round * 37) % Math.ceil(files / 100);
      writeFileSync(join(repo, `d${folder}`, `f${folder * 100}.txt`), `changed in round ${round}\n`);
      const changed = await run();
      if (changed.result.syncSkipped) throw new Error(`scale ${files}: a changed file was not synced`);
      if (round < o.warmup) continue;
      samples.noChange.push(same.ms);
      samples.noChangeTotal.push(same.result.timingsMs.total ?? Number.NaN);
      samples.gitStatus.push(status.ms);
      samples.oneChange.push(changed.ms);
      samples.oneChangeTotal.push(changed.result.timingsMs.total ?? Number.NaN);
    }
    return {
      files,
      noChange: median(samples.noChange), oneChange: median(samples.oneChange), gitStatus: median(samples.gitStatus),
      noChangeTotal: median(samples.noChangeTotal), oneChangeTotal: median(samples.oneChangeTotal),
    };
  } finally {
    rmSync(repo, { recursive: true, force: true });
    // The box's copy of this tree (workdir and bookkeeping) goes too: the next size starts with the disk it had.
    if (workdir) {
      const metadir = join(dirname(workdir), '.crabbox', basename(workdir));
      await timeOk(sshMaster(o.lease, `rm -rf '${workdir}' '${metadir}'`));
    }
  }
}

export async function scaleSection(o: ScaleOptions): Promise<Section> {
  const results: SizeResult[] = [];
  for (const files of o.sizes) results.push(await measureSize(o, files));
  const [smallest, , compared, largest] = results as [SizeResult, SizeResult, SizeResult, SizeResult];
  const figures: Figure[] = [];
  for (const r of results) {
    const size = `${r.files.toLocaleString('en-US')} files`;
    const noChange = timeFigure({ name: `no change, ${size}`, value: r.noChange, floorName: 'git status', floor: r.gitStatus, runs: o.runs, note: `the run's own total ${r.noChangeTotal.toFixed(0)} ms` });
    const oneChange = timeFigure({ name: `one file changed, ${size}`, value: r.oneChange, floorName: 'git status', floor: r.gitStatus, runs: o.runs, note: `the run's own total ${r.oneChangeTotal.toFixed(0)} ms` });
    if (r === compared) {
      noChange.target = { text: `within 60 ms of ${smallest.files.toLocaleString('en-US')} files (${(r.noChange - smallest.noChange).toFixed(0)} ms)`, met: r.noChange - smallest.noChange <= 60 };
      oneChange.target = { text: `within 100 ms of ${smallest.files.toLocaleString('en-US')} files (${(r.oneChange - smallest.oneChange).toFixed(0)} ms)`, met: r.oneChange - smallest.oneChange <= 100 };
    }
    if (r === largest) noChange.target = { text: 'under 0.5 s wall', met: r.noChange < 500 };
    figures.push(noChange, oneChange);
  }
  return { id: 'scale', title: 'Scale', figures };
}
