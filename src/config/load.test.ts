import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadConfig } from './load.ts';
import { runCli } from '../testing/cli.ts';
import { isolatedEnv, tempDir } from '../testing/tmp.ts';
import { ExitCode } from '../domain/exit-codes.ts';

const tmp = tempDir();
after(() => tmp.remove());

function setup(name: string, user?: string, repo?: string): { env: NodeJS.ProcessEnv; cwd: string } {
  const root = join(tmp.path, name);
  const cwd = join(root, 'repo');
  mkdirSync(join(root, 'config', 'crabbox'), { recursive: true });
  mkdirSync(cwd, { recursive: true });
  execFileSync('git', ['init', '-q', cwd]);
  if (user !== undefined) writeFileSync(join(root, 'config', 'crabbox', 'config.yaml'), user);
  if (repo !== undefined) writeFileSync(join(cwd, '.crabbox.yaml'), repo);
  return { env: isolatedEnv(root), cwd };
}

describe('config precedence', () => {
  it('uses defaults with nothing configured', () => {
    const { env, cwd } = setup('defaults');
    const c = loadConfig({ env, cwd });
    assert.equal(c.provider, 'local');
    assert.equal(c.lease.ttlSeconds, 5400);
    assert.equal(c.lease.idleTimeoutSeconds, 1800);
    assert.deepEqual(c.env.allow, ['CI', 'NODE_OPTIONS']);
    assert.equal(c.sources.provider, 'default');
    assert.ok(Object.isFrozen(c.lease));
  });

  it('flags beat env beat repo beat user', () => {
    const { env, cwd } = setup('precedence', 'lease:\n  ttl: 10m\n  idleTimeout: 5m\n', 'lease:\n  ttl: 20m\n');
    assert.equal(loadConfig({ env, cwd }).lease.ttlSeconds, 1200);
    assert.equal(loadConfig({ env, cwd }).lease.idleTimeoutSeconds, 300);
    assert.equal(loadConfig({ env: { ...env, CRABBOX_TTL: '30m' }, cwd }).lease.ttlSeconds, 1800);
    const c = loadConfig({ env: { ...env, CRABBOX_TTL: '30m' }, cwd, flags: { ttl: '1h' } });
    assert.equal(c.lease.ttlSeconds, 3600);
    assert.equal(c.sources['lease.ttl'], 'flag');
  });

  it('merges env allowlists from user and repo', () => {
    const { env, cwd } = setup('allow', 'env:\n  allow: [USER_ONE]\n', 'env:\n  allow: ["PROJECT_*"]\n');
    assert.deepEqual(loadConfig({ env, cwd }).env.allow, ['CI', 'NODE_OPTIONS', 'USER_ONE', 'PROJECT_*']);
  });
});

describe('config errors are one line and name file, key and type', () => {
  const cases: [string, string | undefined, string | undefined, RegExp][] = [
    ['malformed yaml', 'lease: [unclosed\n', undefined, /config\.yaml(:\d+)?: malformed YAML/],
    ['unknown key', 'lease:\n  tll: 10m\n', undefined, /config\.yaml: unknown key "lease\.tll"/],
    ['wrong type', 'lease:\n  keep: "yes"\n', undefined, /config\.yaml: lease\.keep: expected boolean, got string "yes"/],
    ['bad duration', 'lease:\n  ttl: soon\n', undefined, /config\.yaml: lease\.ttl: expected a duration/],
    ['repo sets coordinator', undefined, 'coordinator:\n  url: https://evil.example\n', /\.crabbox\.yaml: unknown key "coordinator".*repo config cannot choose credentials/],
    ['bare star allowlist', undefined, 'env:\n  allow: ["*"]\n', /env\.allow\.0: expected an env name or PREFIX_\* pattern/],
  ];
  for (const [name, user, repo, pattern] of cases) {
    it(name, async () => {
      const { env, cwd } = setup(name.replace(/\W/g, '-'), user, repo);
      const before = readdirSync(join(cwd, '..'));
      const result = await runCli(['config', 'show'], { env, cwd });
      assert.equal(result.code, ExitCode.config, result.stderr);
      assert.match(result.stderr, pattern);
      assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
      assert.equal(result.stdout, '');
      assert.deepEqual(readdirSync(join(cwd, '..')), before, 'nothing created');
    });
  }

  it('a bad duration flag is a usage error', () => {
    const { env, cwd } = setup('bad-flag');
    assert.throws(() => loadConfig({ env, cwd, flags: { ttl: '5 parsecs' } }), /--ttl "5 parsecs": expected a duration/);
  });

  it('config show redacts the coordinator token', async () => {
    const secret = 'cbxs_supersecretvalue123456';
    const { env, cwd } = setup('redact', `coordinator:\n  url: https://coord.example.com\n  token: ${secret}\n`);
    const result = await runCli(['config', 'show', '--json'], { env, cwd });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(!result.stdout.includes(secret));
    assert.equal(JSON.parse(result.stdout).coordinator.token, '[redacted]');
  });
});
