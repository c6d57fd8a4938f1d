import assert from 'node:assert/strict';
import { chmodSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadServeSettings } from '../../coordinator/load-config.ts';
import { isolatedEnv, tempDir } from '../../testing/tmp.ts';
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

describe('crabbox coordinator init-secrets', () => {
  const dir = tempDir('crabbox-secrets-');
  after(() => dir.remove());

  it('writes two different 0600 secrets the coordinator accepts, prints only export lines with their paths', async () => {
    const env = isolatedEnv(join(dir.path, 'a'));
    const res = await runCli(['coordinator', 'init-secrets'], { env, cwd: dir.path });
    assert.equal(res.code, 0, res.stderr);
    const secretsDir = join(env.XDG_CONFIG_HOME!, 'crabbox', 'coordinator');
    const shared = join(secretsDir, 'shared-token');
    const session = join(secretsDir, 'session-secret');
    assert.equal(res.stdout, `export CRABBOX_SHARED_TOKEN_FILE=${shared}\nexport CRABBOX_SESSION_SECRET_FILE=${session}\n`);
    assert.match(res.stderr, /wrote a shared operator token and a different session secret to .* \(files 0600; the values are not printed\)/);
    assert.equal(statSync(secretsDir).mode & 0o777, 0o700);
    for (const f of [shared, session]) assert.equal(statSync(f).mode & 0o777, 0o600);
    const token = readFileSync(shared, 'utf8').trim();
    const secret = readFileSync(session, 'utf8').trim();
    assert.match(token, /^cbxs_[A-Za-z0-9_-]{43}$/);
    assert.ok(secret.length >= 32);
    assert.notEqual(token, secret);
    assert.ok(!res.stdout.includes(token) && !res.stderr.includes(token) && !res.stdout.includes(secret) && !res.stderr.includes(secret), 'never printed');
    // The coordinator's own loader accepts them.
    const settings = loadServeSettings({ CRABBOX_SHARED_TOKEN_FILE: shared, CRABBOX_SESSION_SECRET_FILE: session });
    assert.deepEqual([settings.config.auth.sharedToken, settings.config.auth.sessionSecret], [token, secret]);
  });

  it('keeps existing secrets (never overwrites without --force); refuses a lone one; --force replaces both', async () => {
    const env = isolatedEnv(join(dir.path, 'b'));
    const at = join(dir.path, 'custom');
    assert.equal((await runCli(['coordinator', 'init-secrets', '--dir', at], { env, cwd: dir.path })).code, 0);
    const first = readFileSync(join(at, 'shared-token'), 'utf8');
    const again = await runCli(['coordinator', 'init-secrets', '--dir', at, '--json'], { env, cwd: dir.path });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout), { schema: 'crabbox.coordinator-secrets/v1', sharedTokenFile: join(at, 'shared-token'), sessionSecretFile: join(at, 'session-secret'), created: false });
    assert.equal(readFileSync(join(at, 'shared-token'), 'utf8'), first, 'kept');
    rmSync(join(at, 'session-secret'));
    const lone = await runCli(['coordinator', 'init-secrets', '--dir', at], { env, cwd: dir.path });
    assert.equal(lone.code, 64);
    assert.match(lone.stderr, /refusing to overwrite .*shared-token; only one of the two secret files exists; pass --force/);
    assert.equal(readFileSync(join(at, 'shared-token'), 'utf8'), first, 'untouched');
    const forced = await runCli(['coordinator', 'init-secrets', '--dir', at, '--force'], { env, cwd: dir.path });
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(readFileSync(join(at, 'shared-token'), 'utf8'), first);
    chmodSync(join(at, 'session-secret'), 0o644);
    const open = await runCli(['coordinator', 'init-secrets', '--dir', at], { env, cwd: dir.path });
    assert.equal(open.code, 78);
    assert.match(open.stderr, /session-secret is readable by others/);
  });
});
