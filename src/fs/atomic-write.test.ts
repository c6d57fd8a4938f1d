import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../testing/tmp.ts';
import { writeFileAtomic } from './atomic-write.ts';

test('writeFileAtomic replaces a file with 0600 content and leaves no temp file', (t) => {
  const tmp = tempDir();
  t.after(() => tmp.remove());
  const dir = tmp.path;
  const file = join(dir, 'state.json');
  writeFileSync(file, 'old', { mode: 0o644 });
  writeFileAtomic(file, 'new\n');
  assert.equal(readFileSync(file, 'utf8'), 'new\n');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['state.json']);
  // Without the fsync (history files) it is the same replace: new content, 0600, no temp file.
  writeFileSync(file, 'old', { mode: 0o644 });
  writeFileAtomic(file, 'newer\n', { durable: false });
  assert.equal(readFileSync(file, 'utf8'), 'newer\n');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['state.json']);
});

test('writeFileAtomic fails on a missing directory and leaves nothing behind', (t) => {
  const tmp = tempDir();
  t.after(() => tmp.remove());
  const dir = tmp.path;
  assert.throws(() => writeFileAtomic(join(dir, 'missing', 'x'), 'x'), { code: 'ENOENT' });
  assert.deepEqual(readdirSync(dir), []);
});
