// `crabbox run` end to end on the local provider: real git, rsync, ssh and a private sshd per lease.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../src/testing/cli.ts';
import { runSandbox } from '../../src/testing/run-sandbox.ts';
import { gitIn, initRepo, writeFiles } from '../../src/testing/git.ts';

const sandbox = runSandbox({ prefix: 'crabbox-e2e-run-', config: 'sync:\n  exclude: ["generated/"]\n' });
const { env, boxes } = sandbox;
const repo = join(sandbox.path, 'my repo');
let slug = '';

const crabbox = (argv: string[], extra: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) =>
  runCli(argv, { env: { ...env, ...extra.env }, cwd: extra.cwd ?? repo });

async function runJson(argv: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number; result: Record<string, any>; stderr: string }> {
  const r = await crabbox(['run', '--json', '--id', slug, ...argv], { env: extraEnv });
  return { code: r.code, result: JSON.parse(r.stdout), stderr: r.stderr };
}

async function leaseIds(): Promise<string[]> {
  const r = await crabbox(['list', '--json']);
  return (JSON.parse(r.stdout) as { leases: { id: string; state: string }[] }).leases.filter((l) => l.state === 'active').map((l) => l.id);
}

describe('crabbox run on the local provider', () => {
  before(async () => {
    initRepo(repo, { 'keep.txt': 'v1\n', 'gone.txt': 'bye\n', '.gitignore': 'secret.env\n', 'dir/old.txt': 'old\n' });
    const warm = await crabbox(['warmup', '--json']);
    assert.equal(warm.code, 0, warm.stderr);
    slug = (JSON.parse(warm.stdout) as { slug: string }).slug;
  });
  after(() => sandbox.remove());

  it('streams stdout and stderr in order to the matching streams and passes exit codes 0, 1, 7 and 137 through', async () => {
    const r = await crabbox(['run', '--id', slug, '--', 'bash', '-c', 'for i in 1 2 3; do echo out$i; echo err$i >&2; done']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'out1\nout2\nout3\n');
    assert.match(r.stderr, /^err1\nerr2\nerr3\n/);
    assert.match(r.stderr, /crabbox: sync=\S+ command=\d+\.\d\ds total=\d+\.\d\ds exit=0 run=run_[0-9a-f]{12} lease=/);
    for (const code of [1, 7]) assert.equal((await crabbox(['run', '--id', slug, '--', 'sh', '-c', `exit ${code}`])).code, code);
    const killed = await crabbox(['run', '--id', slug, '--', 'sh', '-c', 'kill -9 $$']);
    assert.equal(killed.code, 137);
    assert.match(killed.stderr, /exit=137/);
  });

  it('sends added, changed and deleted files; never ignored or excluded ones; keeps box-made files; skips rsync when nothing changed', async () => {
    writeFiles(repo, { 'secret.env': 'TOKEN=abc', 'generated/big.js': 'x', 'node_modules/p/i.js': 'x' });
    const first = await runJson(['--', 'sh', '-c', 'pwd; touch box-made.txt']);
    assert.equal(first.code, 0, first.stderr);
    const workdir = first.stderr.split('\n')[0]!;
    assert.ok(existsSync(join(workdir, 'keep.txt')), workdir);
    writeFiles(repo, { 'keep.txt': 'v2\n', 'added file.txt': 'new\n' });
    unlinkSync(join(repo, 'gone.txt'));
    gitIn(repo, 'rm', '-q', 'dir/old.txt');
    const second = await runJson(['--', 'sh', '-c', 'cat keep.txt "added file.txt"; ls -A']);
    assert.equal(second.result.sync.state, 'synced');
    assert.equal(second.result.sync.deleted, 2);
    const listing = second.stderr.split('\n');
    assert.deepEqual(listing.slice(0, 2), ['v2', 'new']);
    // .git is the box's own, built from objects (docs/sync.md, "Git on the box"), never the local one: test/e2e/git-on-box.test.ts.
    for (const present of ['.gitignore', 'added file.txt', 'box-made.txt', 'keep.txt', '.git']) assert.ok(listing.includes(present), present);
    for (const absent of ['gone.txt', 'dir', 'secret.env', 'generated', 'node_modules']) assert.ok(!listing.includes(absent), absent);
    const third = await runJson(['--', 'true']);
    assert.equal(third.result.sync.state, 'skipped');
    assert.match(third.stderr, /sync=skipped command=/);
    assert.equal(third.result.syncSkipped, true);
  });

  it('two concurrent runs on one warm lease each run exactly their own tree', async () => {
    const other = join(sandbox.path, 'other', 'my repo');
    initRepo(other, { 'rev.txt': 'B\n' });
    writeFiles(repo, { 'rev.txt': 'A\n' });
    const script = 'cat rev.txt; sleep 1; cat rev.txt';
    const [a, b] = await Promise.all([
      crabbox(['run', '--id', slug, '--shell', '--', script]),
      crabbox(['run', '--id', slug, '--shell', '--', script], { cwd: other }),
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(a.stdout, 'A\nA\n');
    assert.equal(b.stdout, 'B\nB\n');
  });

  it('forwards an allowlisted env value over stdin only: never in argv, diagnostics or files crabbox wrote', async () => {
    const canary = `cbxcanary${process.pid}${Date.now()}`;
    // /tmp, because the lease user cannot write into the test's private directory.
    const started = `/tmp/crabbox-canary-${process.pid}`;
    rmSync(started, { force: true });
    const seen: string[] = [];
    const pending = crabbox(['run', '--debug', '--id', slug, '--', 'bash', '-c', `echo "value=$CANARY_VALUE"; touch '${started}'; sleep 2`], { env: { CANARY_VALUE: canary, CRABBOX_ENV_ALLOW: 'CANARY_*' } });
    const deadline = Date.now() + 30_000;
    while (!existsSync(started) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(existsSync(started), 'the command started');
    const { readdirSync } = await import('node:fs');
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(canary)) seen.push(pid);
      } catch {
        // the process ended
      }
    }
    const r = await pending;
    rmSync(started, { force: true });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(seen, [], 'no process had the value in its argv');
    assert.equal(r.stdout, `value=${canary}\n`);
    assert.ok(!r.stderr.includes(canary), 'diagnostics never show it');
    const grep = await import('node:child_process').then((cp) => cp.spawnSync('grep', ['-rl', '--', canary, sandbox.path, boxes], { encoding: 'utf8' }));
    assert.equal(grep.stdout, '', 'no file crabbox wrote holds it');
  });

  it('refuses hostile env patterns clearly and runs nothing', async () => {
    const pwn = join(sandbox.path, 'pwn');
    for (const pattern of ['*', 'A-B', `X=$(touch ${pwn})`]) {
      const r = await crabbox(['run', '--id', slug, '--', 'touch', pwn], { env: { CRABBOX_ENV_ALLOW: pattern } });
      assert.equal(r.code, 78, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /not an env name or PREFIX_\* pattern/);
    }
    writeFileSync(join(repo, '.crabbox.yaml'), `env:\n  allow: ["X=$(touch ${pwn})"]\n`);
    const r = await crabbox(['run', '--id', slug, '--', 'touch', pwn]);
    unlinkSync(join(repo, '.crabbox.yaml'));
    assert.equal(r.code, 78, r.stderr);
    assert.equal(existsSync(pwn), false);
  });

  it('runs hostile file names and shell metacharacters exactly, or through bash only with --shell', async () => {
    const names = ['sp ace.txt', 'new\nline.txt', `q'u"ote.txt`, '-dash.txt', '$(touch pwned).txt'];
    writeFiles(repo, Object.fromEntries(names.map((n) => [n, `${n}!`])));
    const r = await crabbox(['run', '--id', slug, '--', 'cat', '--', ...names]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, names.map((n) => `${n}!`).join(''));
    const flags = await crabbox(['run', '--id', slug, '--', 'echo', '--json', '--debug', '--help']);
    assert.equal(flags.stdout, '--json --debug --help\n', 'flags after -- belong to the command');
    const meta = await crabbox(['run', '--id', slug, '--', 'printf', '%s|', '$(id)', '`id`', 'a;b', '*', '>x']);
    assert.equal(meta.stdout, '$(id)|`id`|a;b|*|>x|');
    const check = await crabbox(['run', '--id', slug, '--shell', '--', 'ls pwned x 2>/dev/null | wc -l; echo a && echo b']);
    assert.equal(check.stdout, '0\na\nb\n');
  });

  it('a fresh lease is released after the run, whatever the exit code', async () => {
    const before = await leaseIds();
    const r = await crabbox(['run', '--json', '--', 'sh', '-c', 'exit 3']);
    assert.equal(r.code, 3);
    const result = JSON.parse(r.stdout);
    assert.equal(result.version, 1);
    assert.equal(result.remoteExitCode, 3);
    assert.equal(result.lease.fresh, true);
    assert.equal(result.lease.released, true);
    assert.equal(result.source, 'remote');
    assert.deepEqual(await leaseIds(), before);
  });

  it('reports usage errors in one line without leasing', async () => {
    const r = await crabbox(['run']);
    assert.equal(r.code, 64);
    assert.match(r.stderr, /^crabbox: no command given; usage: crabbox run \[flags\] -- <command\.\.\.>/);
    for (const bad of ['soon', '25h']) {
      const r2 = await crabbox(['run', '--lock-wait', bad, '--', 'true']);
      assert.equal(r2.code, 64, r2.stderr);
      assert.match(r2.stderr, /^crabbox: .*--lock-wait/);
    }
    const both = await crabbox(['run', '--id', slug, '--keep', '--', 'true']);
    assert.equal(both.code, 64);
    const outside = await crabbox(['run', '--', 'true'], { cwd: sandbox.path });
    assert.equal(outside.code, 73);
    assert.match(outside.stderr, /not inside a git checkout/);
  });

  it('--no-sync runs on the box as it is; --result-file holds the result object; --keep keeps the fresh lease', async () => {
    writeFiles(repo, { 'only-local.txt': 'x' });
    const resultFile = join(sandbox.path, 'result.json');
    const r = await crabbox(['run', '--id', slug, '--no-sync', '--result-file', resultFile, '--', 'sh', '-c', 'ls only-local.txt 2>/dev/null; echo done']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'done\n');
    assert.match(r.stderr, /sync=off /);
    const result = JSON.parse(readFileSync(resultFile, 'utf8'));
    assert.equal(result.sync.state, 'off');
    assert.equal(result.exitCode, 0);
    unlinkSync(join(repo, 'only-local.txt'));
    const before = await leaseIds();
    const kept = await crabbox(['run', '--json', '--keep', '--', 'true']);
    const keptResult = JSON.parse(kept.stdout);
    assert.equal(keptResult.lease.released, false);
    assert.deepEqual((await leaseIds()).sort(), [...before, keptResult.lease.id].sort());
    await crabbox(['stop', keptResult.lease.id]);
  });
});
