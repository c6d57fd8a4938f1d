// scratch: not committed
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchWorkspace } from './lib/box.ts';
import { median, timeOk } from './lib/stats.ts';

const sizes = process.argv.slice(2).map(Number);
const ws = new BenchWorkspace();
try {
  const small = ws.repo('seed', [['a', 'a']]);
  const lease = await ws.warmup(small);
  for (const n of sizes) {
    const dir = join(ws.root, `r${n}`);
    mkdirSync(dir);
    for (let i = 0; i < n; i++) {
      const d = join(dir, `d${Math.floor(i / 100)}`);
      if (i % 100 === 0) mkdirSync(d);
      writeFileSync(join(d, `f${i}.txt`), `${'x'.repeat(1000)}${i}\n`);
    }
    const g = (...a: string[]) => execFileSync('git', ['-c', 'user.email=a@b', '-c', 'user.name=a', ...a], { cwd: dir, stdio: 'ignore' });
    g('init', '-q'); g('add', '-A'); g('commit', '-qm', 'x');
    const first = await ws.runJson(['--id', lease.slug, '--', 'true'], dir);
    const noop: number[] = []; const tot: number[] = []; const one: number[] = []; const onet: number[] = []; const gs: number[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await ws.runJson(['--id', lease.slug, '--', 'true'], dir);
      if (!r.result.syncSkipped) throw new Error('not skipped');
      noop.push(r.ms); tot.push(r.result.timingsMs.total!);
      writeFileSync(join(dir, 'd0', 'f0.txt'), `changed ${i}\n`);
      const c = await ws.runJson(['--id', lease.slug, '--', 'true'], dir);
      one.push(c.ms); onet.push(c.result.timingsMs.total!);
      gs.push((await timeOk(['git', 'status', '--porcelain'], { cwd: dir })).ms);
    }
    console.log(`${n}: first ${first.ms.toFixed(0)} noop ${median(noop).toFixed(0)} (total ${median(tot)}) one ${median(one).toFixed(0)} (total ${median(onet)}) git status ${median(gs).toFixed(0)}`);
  }
} finally {
  await ws.close();
}
