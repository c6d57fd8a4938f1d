import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../testing/tmp.ts';
import { localBox } from '../testing/local-box.ts';
import { listBoxFiles, readBoxFiles } from './box-files.ts';

const tmp = tempDir('crabbox-files-');
after(() => tmp.remove());

test('lists and reads report files from the workdir, exactly and bounded', async () => {
  const box = localBox(tmp.path);
  const workdir = join(tmp.path, 'work dir');
  mkdirSync(join(workdir, 'reports', 'deep'), { recursive: true });
  mkdirSync(join(workdir, 'node_modules', 'x'), { recursive: true });
  writeFileSync(join(workdir, 'reports', 'a.xml'), '<testsuite tests="1"/>');
  writeFileSync(join(workdir, 'reports', 'deep', 'we\nird.xml'), Buffer.from([0, 1, 2, 0]));
  writeFileSync(join(workdir, 'node_modules', 'x', 'junit.xml'), 'no');
  writeFileSync(join(workdir, 'big.xml'), 'x'.repeat(100));
  symlinkSync('/etc/hostname', join(workdir, 'link.xml'));
  const listed = (await listBoxFiles(box, workdir)).sort();
  assert.deepEqual(listed, ['big.xml', 'reports/a.xml', 'reports/deep/we\nird.xml']);
  const files = await readBoxFiles(box, workdir, ['reports/a.xml', 'reports/deep/we\nird.xml', 'big.xml', 'missing.xml', '../escape.xml'], { maxBytes: 10 });
  assert.deepEqual(files.map((f) => [f.path, f.content?.toString('latin1')]), [
    ['reports/a.xml', '<testsuit'.padEnd(10, 'e')],
    ['reports/deep/we\nird.xml', '\0\x01\x02\0'],
    ['big.xml', 'x'.repeat(10)],
    ['missing.xml', undefined],
    ['../escape.xml', undefined],
  ]);
  assert.deepEqual(await listBoxFiles(box, join(tmp.path, 'nope')), []);
});
