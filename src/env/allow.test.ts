import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectEnv } from './allow.ts';

test('forwards exact names and PREFIX_* matches only, never crabbox credentials, and refuses malformed patterns', () => {
  const env = { CI: 'true', APP_ONE: '1', APP_TWO: 'two', APPX: 'no', 'A-B': 'no', CRABBOX_COORDINATOR_TOKEN: 'cbxs_secretsecret', CRABBOX_PROFILE: 'p' };
  assert.deepEqual(selectEnv(env, ['CI', 'APP_*', 'CRABBOX_*']), [['APP_ONE', '1'], ['APP_TWO', 'two'], ['CI', 'true'], ['CRABBOX_PROFILE', 'p']]);
  for (const bad of ['*', 'A-B', 'X=$(touch /tmp/pwn)', '', 'A*B']) assert.throws(() => selectEnv(env, [bad]), /not an env name or PREFIX_\* pattern/);
});
