import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tempDir } from '../testing/tmp.ts';
import { updateUserConfig } from './write.ts';

describe('user config writes', () => {
  const dir = tempDir('crabbox-write-');
  after(() => dir.remove());

  it('creates the file 0600 in a new 0700 directory and keeps other keys and comments on edit', () => {
    const env = { XDG_CONFIG_HOME: join(dir.path, 'a') };
    const path = updateUserConfig(env, (doc) => doc.setIn(['coordinator', 'url'], 'https://c.example'));
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir.path, 'a', 'crabbox')).mode & 0o777, 0o700);
    writeFileSync(path, '# mine\nowner: me # inline\ncoordinator:\n  url: https://c.example\n');
    updateUserConfig(env, (doc) => doc.setIn(['coordinator', 'tokenKind'], 'user'));
    assert.equal(readFileSync(path, 'utf8'), '# mine\nowner: me # inline\ncoordinator:\n  url: https://c.example\n  tokenKind: user\n');
    assert.deepEqual(readdirSync(join(dir.path, 'a', 'crabbox')), ['config.yaml']);
  });

  it('refuses a broken file with one line and leaves it untouched', () => {
    const env = { XDG_CONFIG_HOME: join(dir.path, 'b') };
    mkdirSync(join(dir.path, 'b', 'crabbox'), { recursive: true });
    const path = join(dir.path, 'b', 'crabbox', 'config.yaml');
    for (const text of ['owner: [unclosed\n', '- a list\n']) {
      writeFileSync(path, text);
      assert.throws(() => updateUserConfig(env, (doc) => doc.set('x', 1)), /is not a valid YAML mapping; fix or remove it first/);
      assert.equal(readFileSync(path, 'utf8'), text);
    }
  });
});
