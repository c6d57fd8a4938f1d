import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRequest, runnerEligible, runtimeEnvDifference } from './request.ts';

const noTty = { stdin: false, stdout: false, stderr: false };

describe('warm runner requests', () => {
  it('serves `run --id` without a terminal, and nothing else', () => {
    assert.equal(runnerEligible(['run', '--id', 'blue-mantis', '--', 'npm', 'test'], {}, noTty), true);
    assert.equal(runnerEligible(['--json', 'run', '--id=blue-mantis', '--', 'true'], {}, noTty), true);
    // Words after `--` belong to the remote command.
    assert.equal(runnerEligible(['run', '--id', 'x', '--', 'tool', '--tty', '-t', '--help'], {}, noTty), true);
    assert.equal(runnerEligible(['run', '--', 'true'], {}, noTty), false, 'a fresh lease');
    assert.equal(runnerEligible(['status', '--id', 'x'], {}, noTty), false);
    for (const flag of ['-t', '--tty', '-h', '--help']) assert.equal(runnerEligible(['run', '--id', 'x', flag, '--', 'true'], {}, noTty), false, flag);
    for (const tty of ['stdin', 'stdout', 'stderr'] as const) assert.equal(runnerEligible(['run', '--id', 'x', '--', 'true'], {}, { ...noTty, [tty]: true }), false, tty);
    assert.equal(runnerEligible(['run', '--id', 'x', '--', 'true'], { CRABBOX_RUNNER: 'off' }, noTty), false);
  });

  it('takes a well-formed request and rejects anything else', () => {
    const good = { v: 1, build: 'b', argv: ['run'], cwd: '/r', env: { A: '1' }, startedAt: 5 };
    assert.deepEqual(parseRequest(JSON.stringify(good)), good);
    for (const bad of ['not json', 'null', '[]', JSON.stringify({ ...good, v: 2 }), JSON.stringify({ ...good, argv: [1] }), JSON.stringify({ ...good, env: { A: 1 } }), JSON.stringify({ ...good, env: ['A'] }), JSON.stringify({ ...good, startedAt: '5' })]) {
      assert.equal(parseRequest(bad), undefined, bad);
    }
  });

  it('names a differing Node or libuv setting, and only those', () => {
    assert.equal(runtimeEnvDifference({ PATH: '/a', HOME: '/h' }, { PATH: '/b' }), undefined);
    assert.equal(runtimeEnvDifference({ NODE_OPTIONS: '--inspect' }, {}), 'NODE_OPTIONS');
    assert.equal(runtimeEnvDifference({}, { UV_THREADPOOL_SIZE: '8' }), 'UV_THREADPOOL_SIZE');
  });
});
