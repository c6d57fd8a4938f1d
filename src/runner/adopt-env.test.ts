import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { adoptProcessEnv } from './adopt-env.ts';

describe('adoptProcessEnv', () => {
  it('gives the process exactly the request\'s environment (child processes too) and puts its own back', () => {
    process.env.CRABBOX_TEST_RUNNER_ONLY = 'runner';
    const request: NodeJS.ProcessEnv = { ...process.env, CRABBOX_TEST_CLIENT_ONLY: 'client' };
    delete request.CRABBOX_TEST_RUNNER_ONLY;
    const undo = adoptProcessEnv(request);
    try {
      assert.equal(process.env.CRABBOX_TEST_CLIENT_ONLY, 'client');
      assert.equal('CRABBOX_TEST_RUNNER_ONLY' in process.env, false);
      const child = execFileSync('sh', ['-c', 'echo "${CRABBOX_TEST_CLIENT_ONLY-unset} ${CRABBOX_TEST_RUNNER_ONLY-unset}"'], { encoding: 'utf8' });
      assert.equal(child, 'client unset\n');
    } finally {
      undo();
    }
    assert.equal(process.env.CRABBOX_TEST_RUNNER_ONLY, 'runner');
    assert.equal('CRABBOX_TEST_CLIENT_ONLY' in process.env, false);
    delete process.env.CRABBOX_TEST_RUNNER_ONLY;
  });
});
