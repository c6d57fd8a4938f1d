import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../testing/tmp.ts';
import { noRunnerDirYet, runnerSocketPath } from './socket-path.ts';

describe('the warm runner\'s socket path', () => {
  it('lives in a 0700 dir under the state dir, made by the runner; until then a client is told to start one', (t) => {
    const tmp = tempDir('crabbox-runner-path-');
    t.after(tmp.remove);
    const env = { HOME: tmp.path, XDG_STATE_HOME: join(tmp.path, 'state') };
    const cwd = '/some/checkout';
    assert.equal(runnerSocketPath(env, cwd), undefined, 'a client makes nothing');
    assert.equal(noRunnerDirYet(env, cwd), true);
    const path = runnerSocketPath(env, cwd, true)!;
    assert.equal(path.startsWith(join(tmp.path, 'state', 'crabbox', 'runners') + '/'), true, path);
    assert.equal(statSync(join(path, '..')).mode & 0o777, 0o700);
    assert.equal(runnerSocketPath(env, cwd), path, 'the client finds the same path');
    assert.notEqual(runnerSocketPath(env, '/another/checkout'), path);
    assert.equal(noRunnerDirYet(env, cwd), false);
  });

  it('has no place, and starts no runner, when no socket path would fit', () => {
    const env = { HOME: '/h', XDG_STATE_HOME: `/${'x'.repeat(120)}` };
    assert.equal(runnerSocketPath(env, '/r', false), undefined);
    assert.equal(noRunnerDirYet(env, '/r'), false);
  });
});
