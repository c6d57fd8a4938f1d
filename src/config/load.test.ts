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
    ['repo sets a proxy', undefined, 'proxy:\n  command: touch /tmp/cbx-pwned\n', /\.crabbox\.yaml: unknown key "proxy".*a repository cannot choose a command your machine runs/],
    ['proxy command and jump both', 'proxy:\n  command: ssh -W %h:%p b\n  jump: b\n', undefined, /config\.yaml: .*set either proxy\.command or proxy\.jump, not both/],
    ['proxy jump that reads as an option', 'proxy:\n  jump: -oProxyCommand=touch\n', undefined, /config\.yaml: proxy\.jump: expected \[user@\]host\[:port\]/],
    ['proxy command of two lines', 'proxy:\n  command: "a\\nb"\n', undefined, /config\.yaml: proxy\.command: expected one line/],
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

  it('a proxy from the user config becomes the transport for new leases and shows in config show', async () => {
    const { env, cwd } = setup('proxy-user', 'proxy:\n  jump: me@bastion.example.com:2200\n');
    assert.deepEqual(loadConfig({ env, cwd }).proxy, { kind: 'proxy-jump', jump: 'me@bastion.example.com:2200' });
    const shown = await runCli(['config', 'show'], { env, cwd });
    assert.match(shown.stdout, /proxy: # user file\n  jump: me@bastion\.example\.com:2200\n/);
    const { env: env2, cwd: cwd2 } = setup('proxy-command', 'proxy:\n  command: "ssh -W %h:%p bastion"\n');
    assert.deepEqual(loadConfig({ env: env2, cwd: cwd2 }).proxy, { kind: 'proxy-command', command: 'ssh -W %h:%p bastion' });
    assert.equal(loadConfig({ env: env2, cwd: cwd2, noRepo: true }).sources.proxy, 'user');
  });

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

const BOMB = ['a: &a [x, x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]', ''].join('\n');

describe('config files: hostile or wrong input is one line and exit 78', () => {
  const cases: [string, string | undefined, string | undefined, RegExp][] = [
    ['YAML alias bomb in the user config', BOMB, undefined, /config\.yaml: too many YAML alias expansions \(at most 50\)/],
    ['YAML alias bomb in the repo config', undefined, BOMB, /\.crabbox\.yaml: too many YAML alias expansions/],
    ['relative local.workRoot', 'local:\n  workRoot: boxes/here\n', undefined, /config\.yaml: local\.workRoot: expected an absolute path such as \/var\/tmp\/crabbox-boxes, got "boxes\/here"/],
    ['malformed YAML names its line', 'provider: local\nlease:\n  ttl: 1h\n keep: true\n', undefined, /config\.yaml:4: malformed YAML: All mapping items must start at the same column/],
    ['a duplicate key names its line', 'provider: local\nlease:\n  ttl: 1h\n  keep: true\n  keep: false\n', undefined, /config\.yaml:5: malformed YAML: Map keys must be unique/],
    ['config show key names are refused nowhere, internal names are explained', 'lease:\n  ttlSeconds: 100\n', undefined, /unknown key "lease\.ttlSeconds" \(did you mean "lease\.ttl"\?\); known keys under lease: ttl, idleTimeout, keep, class, type/],
    ['unknown top-level key lists the known ones', 'leases:\n  ttl: 1h\n', undefined, /unknown key "leases" \(did you mean "lease"\?\); known keys: provider, lease, ssh, sync, env, run, artifacts, classes, owner, org, coordinator, local, proxy, static, hetzner, aws/],
    ['TTL under a minute in a file', 'lease:\n  ttl: 40s\n', undefined, /config\.yaml: lease\.ttl: expected a TTL from 1m to 24h/],
    ['idle timeout longer than the TTL in a file', 'lease:\n  ttl: 1h\n  idleTimeout: 2h\n', undefined, /lease\.idleTimeout in .*config\.yaml 2h is longer than the TTL \(1h, from lease\.ttl in .*config\.yaml\)/],
  ];
  for (const [name, user, repo, pattern] of cases) {
    it(name, async () => {
      const { env, cwd } = setup(`hostile-${name.replace(/\W/g, '-')}`, user, repo);
      const result = await runCli(['list'], { env, cwd });
      assert.equal(result.code, ExitCode.config, result.stderr);
      assert.match(result.stderr, pattern);
      assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
    });
  }

  it('TTL flags and env are refused in their own names, never clamped', async () => {
    const { env, cwd } = setup('timing-flags');
    assert.throws(() => loadConfig({ env, cwd, flags: { ttl: '40s', idleTimeout: '20s' } }), (e: Error) => e.message === '--ttl 40s is out of range; allowed 1m to 24h');
    assert.throws(() => loadConfig({ env, cwd, flags: { ttl: '1h', idleTimeout: '2h' } }), (e: Error) => e.message === '--idle-timeout 2h is longer than the TTL (1h, from --ttl); the idle timeout must be at most the TTL');
    assert.throws(() => loadConfig({ env: { ...env, CRABBOX_IDLE_TIMEOUT: '0' }, cwd }), (e: Error) => e.message === 'CRABBOX_IDLE_TIMEOUT 0s is out of range; allowed 1m to 24h');
    const c = loadConfig({ env, cwd, flags: { ttl: '10m' } });
    assert.deepEqual([c.lease.ttlSeconds, c.lease.idleTimeoutSeconds], [600, 600], 'the default idle timeout shrinks to an explicit shorter TTL');
  });
});

describe('config show', () => {
  it('prints keys the config file accepts: its output, copied into a config file, loads to the same config', async () => {
    const { env, cwd } = setup('copyable', 'lease:\n  ttl: 2h\nsync:\n  maxBytes: 1GiB\nlocal:\n  workRoot: /var/tmp/boxes\n', 'run:\n  logTail: 128KiB\n');
    const shown = await runCli(['config', 'show'], { env, cwd });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^ {2}ttl: 2h # user file$/m);
    assert.doesNotMatch(shown.stdout, /Seconds:|logTailBytes|timeoutSeconds/, 'no internal names');
    const copy = setup('copied', shown.stdout);
    const again = await runCli(['config', 'show', '--json'], copy);
    assert.equal(again.code, 0, again.stderr);
    const before = JSON.parse((await runCli(['config', 'show', '--json'], { env, cwd })).stdout);
    const after = JSON.parse(again.stdout);
    for (const key of ['lease', 'ssh', 'sync', 'run', 'env', 'local', 'provider']) assert.deepEqual(after[key], before[key], key);
  });

  it('says where every setting came from: default, user file, repo file, env or flag', async () => {
    const { env, cwd } = setup('sources', 'ssh:\n  port: 2200\nenv:\n  allow: [USER_ONE]\n', 'sync:\n  deleteLimit: 10\nenv:\n  allow: [REPO_ONE]\n');
    const c = loadConfig({ env: { ...env, CRABBOX_SSH_FALLBACK_PORTS: '22,2022' }, cwd, flags: { ttl: '1h' } });
    assert.equal(c.sources['lease.ttl'], 'flag');
    assert.equal(c.sources['ssh.fallbackPorts'], 'env');
    assert.equal(c.sources['sync.deleteLimit'], 'repo');
    assert.equal(c.sources['ssh.port'], 'user');
    assert.equal(c.sources['env.allow'], 'user+repo');
    assert.equal(c.sources['sync.warnFiles'], 'default');
    const shown = await runCli(['config', 'show'], { env: { ...env, CRABBOX_SSH_FALLBACK_PORTS: '22,2022' }, cwd });
    // Every leaf setting line carries its source.
    const leaves = shown.stdout.split('\n').filter((l) => /^\s*[A-Za-z]+:\s*\S/.test(l) && !l.startsWith('#'));
    assert.ok(leaves.length >= 20, shown.stdout);
    for (const line of leaves) assert.match(line, /# (default|user file|repo file|user file \+ repo file|env|flag)$/, line);
    assert.match(shown.stdout, /fallbackPorts: # env/);
    assert.match(shown.stdout, /deleteLimit: 10 # repo file/);
  });
});
