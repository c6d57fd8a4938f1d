import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../domain/clock.ts';
import { verifyUserToken } from '../../auth/user-token.ts';
import { runCli } from '../../testing/cli.ts';

const SECRET = 'cli-session-secret-0123456789abcdef-xyz';

describe('crabbox coordinator issue-token', () => {
  it('prints a user token signed with the session secret from env', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const res = await runCli(['coordinator', 'issue-token', '--login', 'alice', '--org', 'acme', '--ttl', '2h'], { env: { CRABBOX_SESSION_SECRET: SECRET }, clock });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stderr, '');
    const token = res.stdout.trim();
    const verified = await verifyUserToken(token, SECRET, clock.now() + 3600_000);
    assert.ok(verified.ok);
    assert.deepEqual(verified.ok && [verified.claims.owner, verified.claims.org, verified.claims.login], ['alice', 'acme', 'alice']);
    assert.deepEqual(await verifyUserToken(token, SECRET, clock.now() + 2 * 3600_000), { ok: false, reason: 'expired' });
  });

  it('refuses without a session secret, with a bad ttl or a hostile login, in one line', async () => {
    const cases: [string[], NodeJS.ProcessEnv, number][] = [
      [['--login', 'alice'], {}, 78],
      [['--login', 'alice', '--ttl', 'forever'], { CRABBOX_SESSION_SECRET: SECRET }, 64],
      [['--login', 'alice', '--ttl', '365d'], { CRABBOX_SESSION_SECRET: SECRET }, 64],
      [['--login', '../etc'], { CRABBOX_SESSION_SECRET: SECRET }, 64],
    ];
    for (const [args, env, code] of cases) {
      const res = await runCli(['coordinator', 'issue-token', ...args], { env });
      assert.equal(res.code, code, `${args.join(' ')}: ${res.stderr}`);
      assert.equal(res.stdout, '');
      assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr);
      assert.doesNotMatch(res.stderr, new RegExp(SECRET));
    }
  });
});
