import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, isolatedEnv } from '../../src/testing/tmp.ts';
import { startCliProcess } from '../../src/testing/cli-process.ts';

const tmp = tempDir('crabbox-compile-cache-');
after(() => tmp.remove());

/** Every file under `dir`, recursively (empty when it does not exist). */
function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  } catch {
    return [];
  }
}

test('the compile cache goes to the account\'s own 0700 cache dir, never to a shared temp dir another account prepared', async () => {
  const home = join(tmp.path, 'home');
  const sharedTmp = join(tmp.path, 'shared-tmp');
  mkdirSync(join(sharedTmp, 'node-compile-cache'), { recursive: true });
  chmodSync(sharedTmp, 0o1777);
  chmodSync(join(sharedTmp, 'node-compile-cache'), 0o777); // as a hostile account would leave it
  mkdirSync(home);
  const env = isolatedEnv(home, { TMPDIR: sharedTmp });
  const result = await startCliProcess(['config', 'path'], { env }).done;
  assert.equal(result.code, 0, result.stderr);
  const own = join(home, '.cache', 'crabbox', 'compile-cache');
  assert.equal(statSync(own).mode & 0o777, 0o700);
  assert.equal(statSync(join(home, '.cache', 'crabbox')).mode & 0o777, 0o700);
  assert.ok(filesUnder(own).length > 0, 'the cache was written to the private dir');
  assert.deepEqual(filesUnder(sharedTmp), []);
});

test('a cache dir that other accounts can write is not used', async () => {
  const home = join(tmp.path, 'home-loose');
  const loose = join(home, '.cache', 'crabbox', 'compile-cache');
  mkdirSync(loose, { recursive: true });
  chmodSync(loose, 0o777);
  const env = isolatedEnv(home, { TMPDIR: join(tmp.path, 'unused-tmp') });
  const result = await startCliProcess(['config', 'path'], { env }).done;
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(filesUnder(loose), []);
  assert.deepEqual(filesUnder(join(tmp.path, 'unused-tmp')), []);
});
