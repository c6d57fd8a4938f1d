import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { bootstrapFilesDir } from './files.ts';
import { requireCommands } from '../testing/requires.ts';

it('bootstrap scripts are ShellCheck-clean', () => {
  requireCommands('shellcheck');
  const dir = join(bootstrapFilesDir(), 'scripts');
  const scripts = readdirSync(dir).filter((f) => f.endsWith('.sh')).map((f) => join(dir, f));
  assert.ok(scripts.length >= 3);
  const r = spawnSync('shellcheck', ['--shell=bash', ...scripts], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
