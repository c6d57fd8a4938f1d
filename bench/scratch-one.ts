// scratch: not committed
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchWorkspace } from './lib/box.ts';

const n = Number(process.argv[2] ?? 1000);
const ws = new BenchWorkspace();
try {
  const dir = join(ws.root, `r${n}`);
  mkdirSync(dir);
  for (let i = 0; i < n; i++) {
    const d = join(dir, `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) mkdirSync(d);
    writeFileSync(join(d, `f${i}.txt`), `${'x'.repeat(1000)}${i}\n`);
  }
  const g = (...a: string[]) => execFileSync('git', ['-c', 'user.email=a@b', '-c', 'user.name=a', ...a], { cwd: dir, stdio: 'ignore' });
  g('init', '-q'); g('add', '-A'); g('commit', '-qm', 'x');
  const lease = await ws.warmup(dir);
  for (let i = 0; i < 6; i++) {
    if (i === 4) writeFileSync(join(dir, 'd0', 'f0.txt'), `changed ${i}\n`);
    const r = await ws.crabbox(['run', '--json', '--debug', '--id', lease.slug, '--', 'true'], dir);
    const j = JSON.parse(r.stdout);
    console.log(`wall ${r.ms.toFixed(0)}`, JSON.stringify(j.timingsMs), j.sync?.state);
    if (i === 5) console.log(r.stderr);
  }
} finally {
  await ws.close();
}
