import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { systemClock } from '../domain/clock.ts';
import { tempDir } from '../testing/tmp.ts';
import { initRepo } from '../testing/git.ts';
import { localBox } from '../testing/local-box.ts';
import { startSync } from './prepare.ts';
import { startRemoteRun } from './session.ts';

const tmp = tempDir('crabbox-lock-');
after(() => tmp.remove());
const settings = { exclude: [], deleteLimit: 500, timeoutSeconds: 60, warnFiles: 1000, maxFiles: 5000, warnBytes: 1e9, maxBytes: 2e9 };

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (b: Buffer) => chunks.push(b));
  return { stream, text: () => Buffer.concat(chunks).toString() };
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('two concurrent runs on one workspace never run a mixed tree; a short lock wait fails clearly', async () => {
  const box = localBox(tmp.path);
  const workdir = join(tmp.path, 'box', 'w');
  const metadir = join(tmp.path, 'box', '.crabbox', 'w');
  const repoA = join(tmp.path, 'a');
  const repoB = join(tmp.path, 'b');
  initRepo(repoA, { 'rev.txt': 'A\n', 'only-a.txt': 'a' });
  initRepo(repoB, { 'rev.txt': 'B\n', 'only-b.txt': 'b' });
  const release = join(tmp.path, 'release');
  const common = { box, workdir, metadir, env: [], clock: systemClock };
  const outA = sink();
  // Run A reads its revision, waits until the test lets it go, then reads it again: a sync in between would show.
  const a = startRemoteRun({ ...common, lockWaitSeconds: 30, sync: startSync({ repoRoot: repoA, settings }), command: { mode: 'shell', args: [`cat rev.txt; while [ ! -e '${release}' ]; do sleep 0.05; done; cat rev.txt; ls`] }, stdout: outA.stream, stderr: sink().stream });
  await waitFor(() => outA.text().includes('A'), 'run A to start');
  const busy = startRemoteRun({ ...common, lockWaitSeconds: 0, sync: startSync({ repoRoot: repoB, settings }), command: { mode: 'argv', args: ['true'] }, stdout: sink().stream, stderr: sink().stream });
  await assert.rejects(busy.result, /another run is using this lease's workspace/);
  const outB = sink();
  let waited = false;
  const b = startRemoteRun({ ...common, lockWaitSeconds: 30, sync: startSync({ repoRoot: repoB, settings }), command: { mode: 'argv', args: ['sh', '-c', 'cat rev.txt; ls'] }, stdout: outB.stream, stderr: sink().stream, onProgress: (e) => { if (e.type === 'waiting-lock') waited = true; } });
  await waitFor(() => waited, 'run B to wait for the lock');
  assert.equal(outB.text(), '');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(release, '');
  assert.equal((await a.result).exitCode, 0);
  assert.equal(outA.text(), 'A\nA\nonly-a.txt\nrev.txt\n');
  assert.equal((await b.result).exitCode, 0);
  assert.equal(outB.text(), 'B\nonly-b.txt\nrev.txt\n');
  assert.equal(readFileSync(join(workdir, 'rev.txt'), 'utf8'), 'B\n');
});

test('an interrupt stops the whole remote process group, including its children', async () => {
  const box = localBox(tmp.path);
  const repo = join(tmp.path, 'c');
  initRepo(repo, { 'x.txt': 'x' });
  const pidFile = join(tmp.path, 'child.pid');
  const out = sink();
  const run = startRemoteRun({
    box, workdir: join(tmp.path, 'box2', 'w'), metadir: join(tmp.path, 'box2', '.m'), env: [], clock: systemClock, lockWaitSeconds: 5,
    sync: startSync({ repoRoot: repo, settings }),
    command: { mode: 'shell', args: [`sleep 300 & echo $! > '${pidFile}'; echo ready; wait`] },
    stdout: out.stream, stderr: sink().stream,
  });
  await waitFor(() => out.text().includes('ready') && existsSync(pidFile), 'the command to start');
  const child = Number(readFileSync(pidFile, 'utf8'));
  run.interrupt('INT');
  const result = await run.result;
  assert.equal(result.exitCode, 130);
  await waitFor(() => { try { process.kill(child, 0); return false; } catch { return true; } }, 'the background child to die');
});

test('a process that escapes the command\'s group does not keep the workspace lock', async () => {
  const box = localBox(tmp.path);
  const repo = join(tmp.path, 'd');
  initRepo(repo, { 'x.txt': 'x' });
  const pidFile = join(tmp.path, 'escaped.pid');
  const common = { box, workdir: join(tmp.path, 'box3', 'w'), metadir: join(tmp.path, 'box3', '.m'), env: [], clock: systemClock, lockWaitSeconds: 0, stdout: sink().stream, stderr: sink().stream };
  const first = startRemoteRun({ ...common, sync: startSync({ repoRoot: repo, settings }), command: { mode: 'shell', args: [`setsid sh -c 'echo $$ > "$0"; exec sleep 30' '${pidFile}' >/dev/null 2>&1 < /dev/null & while [ ! -s '${pidFile}' ]; do sleep 0.05; done`] } });
  assert.equal((await first.result).exitCode, 0);
  await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 'the escaped process to start');
  const escaped = Number(readFileSync(pidFile, 'utf8'));
  assert.doesNotThrow(() => process.kill(escaped, 0), 'the escaped process outlived the run');
  try {
    const second = startRemoteRun({ ...common, sync: undefined, command: { mode: 'argv', args: ['true'] } });
    assert.equal((await second.result).exitCode, 0);
  } finally {
    process.kill(escaped, 'SIGKILL');
  }
  // Without closing the lock descriptor for the command, the second run above fails with "another run is using…".
});

test('an interrupt during the sync stops the transfer and runs nothing', async () => {
  const box = localBox(tmp.path);
  const repo = join(tmp.path, 'e');
  initRepo(repo, { 'x.txt': 'x' });
  const marker = join(tmp.path, 'must-not-exist');
  const run = startRemoteRun({
    box, workdir: join(tmp.path, 'box4', 'w'), metadir: join(tmp.path, 'box4', '.m'), env: [], clock: systemClock, lockWaitSeconds: 5,
    sync: startSync({ repoRoot: repo, settings }), command: { mode: 'argv', args: ['touch', marker] }, stdout: sink().stream, stderr: sink().stream,
    onProgress: (e) => { if (e.type === 'syncing') run.interrupt('INT'); },
  });
  await assert.rejects(run.result, /interrupted before the command started/);
  assert.equal(existsSync(marker), false);
});

test('an interrupt sent before the start message arrives still reaches the command', async () => {
  const box = localBox(tmp.path);
  const repo = join(tmp.path, 'f');
  initRepo(repo, { 'x.txt': 'x' });
  const common = { box, workdir: join(tmp.path, 'box5', 'w'), metadir: join(tmp.path, 'box5', '.m'), env: [], clock: systemClock, lockWaitSeconds: 5, stdout: sink().stream, stderr: sink().stream };
  const sync = startSync({ repoRoot: repo, settings });
  await sync.prepared;
  assert.equal((await startRemoteRun({ ...common, sync, command: { mode: 'argv', args: ['true'] } }).result).sync, 'synced');
  const run = startRemoteRun({ ...common, sync, command: { mode: 'argv', args: ['sleep', '30'] } });
  run.interrupt('INT');
  const result = await run.result;
  assert.equal(result.sync, 'skipped');
  // 130 (SIGINT), not 0: the sleep was stopped, not waited for.
  assert.equal(result.exitCode, 130);
});
