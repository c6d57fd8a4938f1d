import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readlinkSync, rmSync, symlinkSync, unlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { systemClock } from '../domain/clock.ts';
import { tempDir } from '../testing/tmp.ts';
import { gitIn, initRepo, writeFiles } from '../testing/git.ts';
import { localBox } from '../testing/local-box.ts';
import { startSync, type SyncSettings } from './prepare.ts';
import { startRemoteRun, type RemoteRunOptions } from './session.ts';
import { BOOTSTRAP, encodeOffer, encodeRequest } from './protocol.ts';
import { encodeEnvBlock } from '../env/wire.ts';

const tmp = tempDir('crabbox-sync-');
after(() => tmp.remove());
const settings: SyncSettings = { exclude: ['generated/'], deleteLimit: 500, timeoutSeconds: 60, warnFiles: 1000, maxFiles: 5000, warnBytes: 1e9, maxBytes: 2e9 };

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (b: Buffer) => chunks.push(b));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

let counter = 0;
function setup(files: Record<string, string>): { repo: string; box: string; workdir: string; metadir: string; run: (args: string[], extra?: Partial<RemoteRunOptions> & { sync?: false; deleteLimit?: number }) => Promise<{ exitCode: number; sync: string; deleted: number; stdout: string; stderr: string }> } {
  const root = join(tmp.path, `case-${++counter}`);
  const repo = join(root, 'my repo');
  initRepo(repo, files);
  const box = localBox(root);
  const workdir = join(root, 'box', 'lease', 'repo');
  const metadir = join(root, 'box', 'lease', '.crabbox', 'repo');
  return {
    repo,
    box: root,
    workdir,
    metadir,
    run: async (args, extra = {}) => {
      const prep = extra.sync === false ? undefined : startSync({ repoRoot: repo, cacheDir: join(root, 'cache'), settings: { ...settings, deleteLimit: extra.deleteLimit ?? settings.deleteLimit } });
      const out = capture();
      const err = capture();
      const { sync: _s, deleteLimit: _d, ...rest } = extra;
      const remote = startRemoteRun({ box, workdir, metadir, command: { mode: 'argv', args }, env: [], lockWaitSeconds: 30, sync: prep, stdout: out.stream, stderr: err.stream, clock: systemClock, ...rest });
      const result = await remote.result;
      return { ...result, stdout: out.text(), stderr: err.text() };
    },
  };
}

test('output streams arrive in order on the matching streams, and exit codes pass through', async () => {
  const s = setup({ 'a.txt': 'a\n' });
  const r = await s.run(['bash', '-c', 'for i in 1 2 3; do echo out$i; echo err$i >&2; done; printf tail']);
  assert.equal(r.exitCode, 0);
  assert.equal(r.stdout, 'out1\nout2\nout3\ntail');
  assert.equal(r.stderr, 'err1\nerr2\nerr3\n');
  for (let i = 0; i < 5; i++) {
    // Output written the instant the command starts is the command's, never mistaken for wrapper noise.
    const quick = await s.run(['echo', 'x']);
    assert.deepEqual([quick.stdout, quick.stderr], ['x\n', '']);
  }
  for (const code of [1, 7, 255]) assert.equal((await s.run(['sh', '-c', `exit ${code}`])).exitCode, code);
  assert.equal((await s.run(['sh', '-c', 'kill -9 $$'])).exitCode, 137);
});

test('added, changed and deleted files arrive; ignored and excluded files never do; box-made files survive', async () => {
  const s = setup({ 'keep.txt': 'v1\n', 'gone.txt': 'bye\n', 'dir/old.txt': 'old\n', '.gitignore': 'secret.env\n' });
  writeFiles(s.repo, { 'secret.env': 'TOKEN=x', 'generated/out.js': 'x', 'node_modules/pkg/index.js': 'x' });
  const first = await s.run(['true']);
  assert.equal(first.sync, 'synced');
  assert.equal(readFileSync(join(s.workdir, 'gone.txt'), 'utf8'), 'bye\n');
  writeFileSync(join(s.workdir, 'box-cache.bin'), 'cache');
  mkdirSync(join(s.workdir, 'dir', 'build'), { recursive: true });
  writeFileSync(join(s.workdir, 'dir', 'build', 'o'), 'o');
  writeFiles(s.repo, { 'keep.txt': 'v2\n', 'new file.txt': 'new\n' });
  unlinkSync(join(s.repo, 'gone.txt'));
  gitIn(s.repo, 'rm', '-q', 'dir/old.txt');
  const second = await s.run(['true']);
  assert.equal(second.sync, 'synced');
  assert.equal(second.deleted, 2);
  assert.equal(readFileSync(join(s.workdir, 'keep.txt'), 'utf8'), 'v2\n');
  assert.equal(readFileSync(join(s.workdir, 'new file.txt'), 'utf8'), 'new\n');
  assert.equal(existsSync(join(s.workdir, 'gone.txt')), false);
  assert.equal(existsSync(join(s.workdir, 'dir', 'old.txt')), false);
  assert.equal(existsSync(join(s.workdir, 'dir', 'build', 'o')), true, 'a folder with box-made files stays');
  assert.equal(readFileSync(join(s.workdir, 'box-cache.bin'), 'utf8'), 'cache');
  for (const never of ['secret.env', 'generated', 'node_modules', '.git']) assert.equal(existsSync(join(s.workdir, never)), false, never);
});

test('a second run with no changes skips rsync; a change on the box or locally resyncs', async () => {
  const s = setup({ 'a.txt': 'a\n' });
  assert.equal((await s.run(['true'])).sync, 'synced');
  assert.equal((await s.run(['true'])).sync, 'skipped');
  writeFileSync(join(s.workdir, 'a.txt'), 'changed on the box\n');
  assert.equal((await s.run(['true'])).sync, 'synced');
  assert.equal(readFileSync(join(s.workdir, 'a.txt'), 'utf8'), 'a\n');
  writeFiles(s.repo, { 'a.txt': 'b\n' });
  assert.equal((await s.run(['cat', 'a.txt'])).stdout, 'b\n');
  assert.equal((await s.run(['true'])).sync, 'skipped');
});

test('hostile file names and symlinks arrive exactly; a symlink is never followed', async () => {
  const names = ['with space.txt', 'new\nline.txt', `quote'"s.txt`, '-leading-dash.txt', '$(touch pwned).txt', 'ünï.txt'];
  const s = setup(Object.fromEntries(names.map((n) => [n, `${n}\n`])));
  symlinkSync('/etc/hostname', join(s.repo, 'outside-link'));
  symlinkSync('with space.txt', join(s.repo, 'inside-link'));
  const r = await s.run(['true']);
  assert.equal(r.exitCode, 0);
  for (const n of names) assert.equal(readFileSync(join(s.workdir, n), 'utf8'), `${n}\n`);
  assert.equal(readlinkSync(join(s.workdir, 'outside-link')), '/etc/hostname');
  assert.equal(readlinkSync(join(s.workdir, 'inside-link')), 'with space.txt');
  assert.equal(existsSync(join(s.workdir, 'pwned')), false);
  for (const n of names) unlinkSync(join(s.repo, n));
  const again = await s.run(['true']);
  assert.equal(again.deleted, names.length);
  for (const n of names) assert.equal(existsSync(join(s.workdir, n)), false, n);
});

test('a deletion through a symlinked folder on the box is refused', async () => {
  const s = setup({ 'd/f.txt': 'f\n' });
  await s.run(['true']);
  const victim = join(s.box, 'victim');
  mkdirSync(victim);
  writeFileSync(join(victim, 'f.txt'), 'precious');
  rmSync(join(s.workdir, 'd'), { recursive: true });
  symlinkSync(victim, join(s.workdir, 'd'));
  rmSync(join(s.repo, 'd'), { recursive: true });
  await s.run(['true']);
  assert.equal(readFileSync(join(victim, 'f.txt'), 'utf8'), 'precious');
});

test('a sync that would delete more than the limit stops before touching the box', async () => {
  const files = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`f${i}.txt`, `${i}`]));
  const s = setup(files);
  await s.run(['true']);
  for (const f of Object.keys(files)) unlinkSync(join(s.repo, f));
  await assert.rejects(s.run(['true'], { deleteLimit: 3 }), /sync would delete 5 files.*f0\.txt/);
  assert.equal(existsSync(join(s.workdir, 'f0.txt')), true);
  const ok = await s.run(['true'], { deleteLimit: -1 });
  assert.equal(ok.deleted, 5);
});

test('a command with shell metacharacters runs exactly as given in argv mode and through bash with --shell', async () => {
  const s = setup({ 'a.txt': 'a\n' });
  const r = await s.run(['printf', '%s|', 'a b', '$(touch pwned)', '; rm -rf /', '`id`', '*']);
  assert.equal(r.stdout, 'a b|$(touch pwned)|; rm -rf /|`id`|*|');
  assert.equal(existsSync(join(s.workdir, 'pwned')), false);
  const shell = await s.run(['echo one && echo two | tr a-z A-Z'], { command: { mode: 'shell', args: ['echo one && echo two | tr a-z A-Z'] } });
  assert.equal(shell.stdout, 'one\nTWO\n');
  const env = await s.run(['sh', '-c', 'env | grep -c ^CRABBOX_ || true']);
  assert.equal(env.stdout, '0\n', 'the wrapper leaves nothing of its own in the command\'s environment');
  // The box session (here: this process's children) has its own locale and umask; the wrapper's C / 022 must not leak.
  const saved = { umask: process.umask(0o027), lcAll: process.env.LC_ALL };
  process.env.LC_ALL = 'C.UTF-8';
  try {
    const session = await s.run(['sh', '-c', 'echo "${LC_ALL-unset} $(umask)"']);
    assert.equal(session.stdout, 'C.UTF-8 0027\n', 'locale and umask are the session\'s, not the wrapper\'s');
  } finally {
    process.umask(saved.umask);
    if (saved.lcAll === undefined) delete process.env.LC_ALL;
    else process.env.LC_ALL = saved.lcAll;
  }
});

test('forwarded env values reach the command through stdin, never argv', async () => {
  const s = setup({ 'a.txt': 'a\n' });
  const canary = `canary-${process.pid}-${Date.now()}`;
  // grep reads the pattern from a pipe, so no process's argv holds the value while /proc is scanned.
  const r = await s.run(['bash', '-c', 'echo "$CANARY_VALUE"; for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline 2>/dev/null; echo; done | grep -c -F -f <(printenv CANARY_VALUE) || true'], { env: [{ name: 'CANARY_VALUE', value: canary }] });
  const [seen, inArgv] = r.stdout.trim().split('\n');
  assert.equal(seen, canary);
  assert.equal(inArgv, '0', 'no process has the value in its argv');
});

test('the env block may follow the request: the box checks its files meanwhile, and the command sees the late variables', async () => {
  const s = setup({ 'a.txt': 'a\n' });
  assert.equal((await s.run(['true'])).sync, 'synced');
  const checked = join(s.metadir, 'snapshot.now');
  rmSync(checked, { force: true });
  let release!: () => void;
  const late = new Promise<void>((resolve) => (release = resolve)).then(() => [{ name: 'LATE_VALUE', value: 'from the record' }]);
  const running = s.run(['sh', '-c', 'printf %s "$LATE_VALUE"'], { env: late });
  // The box's stat pass writes snapshot.now before it reads the env block: it must not wait for it.
  for (let i = 0; i < 500 && !existsSync(checked); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(existsSync(checked), 'the box checked its files before the env block arrived');
  release();
  const r = await running;
  assert.deepEqual([r.exitCode, r.sync, r.stdout], [0, 'skipped', 'from the record']);
});

test('a signal sent before the env block waits for it, then stops the command (no sync)', async () => {
  const s = setup({ 'a.txt': 'a\n' });
  const env = new Promise<{ name: string; value: string }[]>((resolve) => setTimeout(() => resolve([]), 300));
  const out = capture();
  const err = capture();
  const remote = startRemoteRun({ box: localBox(s.box), workdir: s.workdir, metadir: s.metadir, command: { mode: 'argv', args: ['sleep', '30'] }, env, lockWaitSeconds: 30, stdout: out.stream, stderr: err.stream, clock: systemClock });
  remote.interrupt('INT');
  const r = await remote.result;
  assert.equal(r.exitCode, 130, `the command was stopped by the signal (stderr: ${JSON.stringify(err.text())})`);
});

test('a full manifest cut short by the end of the input deletes nothing on the box', async () => {
  const s = setup({ 'a.txt': 'a\n', 'b.txt': 'b\n', 'c.txt': 'c\n' });
  assert.equal((await s.run(['true'])).sync, 'synced');
  // Another tree's offer (so the box asks for the whole manifest), then a manifest that claims 100 bytes and ends.
  const input = Buffer.concat([
    encodeRequest({ workdir: s.workdir, metadir: s.metadir, sync: true, lockWaitSeconds: 5, mode: 'argv', args: ['true'] }),
    encodeEnvBlock([]),
    encodeOffer({ fingerprint: 'f'.repeat(64), base: '', deleteLimit: -1, send: Buffer.alloc(0), remove: Buffer.alloc(0) }),
    Buffer.from('100\0a.txt\0', 'utf8'),
  ]);
  const child = localBox(s.box).exec(BOOTSTRAP);
  const out: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.resume();
  child.stdin.end(input);
  await new Promise((resolve) => child.on('close', resolve));
  assert.match(Buffer.concat(out).toString('utf8'), /crabbox:fail protocol manifest truncated/);
  for (const name of ['a.txt', 'b.txt', 'c.txt']) assert.ok(existsSync(join(s.workdir, name)), `${name} is still on the box`);
  assert.equal(readFileSync(join(s.metadir, 'fingerprint'), 'utf8'), '', 'the interrupted sync leaves no fingerprint to trust');
});
