import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { ManualClock, systemClock } from '../domain/clock.ts';
import type { Lease } from '../domain/lease.ts';
import { tempDir } from '../testing/tmp.ts';
import { initRepo } from '../testing/git.ts';
import { localBox } from '../testing/local-box.ts';
import { startSync } from '../sync/prepare.ts';
import { LogTail } from '../runs/log-tail.ts';
import type { RunFinish, RunRecorder, RunStart } from '../runs/recorder.ts';
import { runOnBox, type RunRequest } from './run.ts';

const tmp = tempDir('crabbox-orchestrate-');
after(() => tmp.remove());
const settings = { exclude: [], deleteLimit: 1, timeoutSeconds: 60, warnFiles: 1000, maxFiles: 5000, warnBytes: 1e9, maxBytes: 2e9 };

function lease(id: string): Lease {
  return {
    id, slug: 'blue-lobster', owner: 'me', org: 'local', provider: 'local', state: 'active', keep: false, ttlSeconds: 3600, idleTimeoutSeconds: 600,
    createdAt: 0, lastTouchedAt: 0, expiresAt: 1e15, machine: { provider: 'local', providerId: id, host: 'localbox', ports: [22], sshUser: 'me', workRoot: join(tmp.path, 'work'), hostKey: 'k' },
  };
}

function harness() {
  const calls: string[] = [];
  const records: { start?: RunStart; finish?: [string, RunFinish] } = {};
  const recorder: RunRecorder = {
    start: async (input) => { records.start = input; return 'run_00000000abcd'; },
    finish: async (id, result) => { records.finish = [id, result]; calls.push('finish'); },
  };
  const tail = new LogTail({ maxBytes: 4096 });
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  out.on('data', (b: Buffer) => (stdout += b.toString()));
  err.resume();
  const progress: string[] = [];
  const base = {
    leases: {
      acquire: async (ref: string | undefined) => { calls.push(`acquire ${ref ?? 'fresh'}`); return { lease: lease('cbx_00000000abcd'), target: 'target', fresh: ref === undefined }; },
      touch: async (l: Lease) => { calls.push('touch'); return l; },
      release: async (l: Lease) => { calls.push(`release ${l.id}`); },
    },
    connect: async () => localBox(tmp.path),
    recorder, tail, clock: systemClock, keep: false, recordCommand: true, env: [], lockWaitSeconds: 5,
    stdout: out, stderr: err, progress: (l: string) => progress.push(l), warn: (l: string) => progress.push(l), interrupt: new AbortController().signal,
  } satisfies Partial<RunRequest<Lease, string>>;
  return { calls, records, progress, base, stdout: () => stdout, tail: () => tail.snapshot().text };
}

test('a fresh lease: leased, synced, run, recorded with the output tail, then released', async () => {
  const repo = join(tmp.path, 'repo');
  initRepo(repo, { 'a.txt': 'hello\n', 'b.txt': 'b' });
  const h = harness();
  const outcome = await runOnBox({ ...h.base, repoRoot: repo, sync: startSync({ repoRoot: repo, settings }), command: { mode: 'argv', args: ['cat', 'a.txt'] } });
  assert.equal(outcome.exitCode, 0);
  assert.equal(outcome.runId, 'run_00000000abcd');
  assert.equal(outcome.sync, 'synced');
  assert.equal(h.stdout(), 'hello\n');
  assert.equal(h.tail(), 'hello\n');
  assert.deepEqual(h.calls, ['acquire fresh', 'finish', 'release cbx_00000000abcd']);
  assert.deepEqual(h.records.start, { leaseId: 'cbx_00000000abcd', slug: 'blue-lobster', provider: 'local', command: ['cat', 'a.txt'] });
  const [id, finish] = h.records.finish!;
  assert.equal(id, 'run_00000000abcd');
  assert.equal(finish.exitCode, 0);
  assert.equal(finish.source, 'remote');
  assert.equal(finish.syncSkipped, false);
  assert.equal(finish.logTail?.text, 'hello\n');
  assert.ok(h.progress.some((l) => /^syncing 2 files/.test(l)), h.progress.join('|'));

  // A lease named with --id is never released, and a failed sync is a crabbox failure, still recorded.
  unlinkSync(join(repo, 'a.txt'));
  unlinkSync(join(repo, 'b.txt'));
  const h2 = harness();
  const failed = await runOnBox({ ...h2.base, leaseRef: 'blue-lobster', repoRoot: repo, sync: startSync({ repoRoot: repo, settings }), command: { mode: 'argv', args: ['true'] }, recordCommand: false });
  assert.equal(failed.exitCode, 73);
  assert.match(failed.error?.message ?? '', /sync would delete 2 files/);
  assert.deepEqual(h2.calls, ['acquire blue-lobster', 'finish']);
  assert.equal(h2.records.start?.command, undefined, 'command recording off');
  assert.equal(h2.records.finish?.[1].source, 'crabbox');
});

test('a run that forwards env values says so when it is recorded (a pool machine is then never reused)', async () => {
  const h = harness();
  const outcome = await runOnBox({ ...h.base, env: [{ name: 'CRABBOX_TEST_FORWARDED', value: 'x' }], repoRoot: tmp.path, sync: undefined, command: { mode: 'argv', args: ['true'] } });
  assert.equal(outcome.exitCode, 0);
  assert.equal(h.records.start?.forwardsEnv, true);
});

test('the session context and the run\'s own CRABBOX_* names ride the run\'s one exec: no second connection', async () => {
  const h = harness();
  let execs = 0;
  const outcome = await runOnBox({
    ...h.base,
    connect: async () => {
      const box = localBox(tmp.path);
      return { ...box, exec: (command: string) => { execs++; return box.exec(command); } };
    },
    sessionEnv: [{ name: 'TERM', value: 'dumb' }, { name: 'TZ', value: 'UTC' }],
    repoRoot: tmp.path, sync: undefined,
    command: { mode: 'shell', args: ['echo "$TERM $TZ $CRABBOX_LEASE_ID $CRABBOX_SLUG $CRABBOX_PROVIDER $CRABBOX_RUN_ID"'] },
  });
  assert.equal(outcome.exitCode, 0);
  assert.equal(h.stdout(), 'dumb UTC cbx_00000000abcd blue-lobster local run_00000000abcd\n');
  assert.equal(execs, 1);
  assert.equal(h.records.start?.forwardsEnv, undefined, 'the session context is no forwarded secret');
});

test('an interrupt before leasing runs nothing and leases nothing', async () => {
  const h = harness();
  const controller = new AbortController();
  controller.abort('SIGTERM');
  const outcome = await runOnBox({ ...h.base, interrupt: controller.signal, repoRoot: tmp.path, sync: undefined, command: { mode: 'argv', args: ['true'] } });
  assert.equal(outcome.exitCode, 143);
  assert.equal(outcome.interrupted, 'SIGTERM');
  assert.deepEqual(h.calls, []);
});

test('the lease is touched on every heartbeat while the command runs, and released after it', async () => {
  const repo = join(tmp.path, 'hb');
  initRepo(repo, { 'a.txt': 'a' });
  const started = join(tmp.path, 'hb-started');
  const go = join(tmp.path, 'hb-go');
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const h = harness();
  const pending = runOnBox({
    ...h.base, clock, heartbeatMs: 10_000, repoRoot: repo, sync: undefined,
    command: { mode: 'argv', args: ['sh', '-c', `touch '${started}'; while [ ! -e '${go}' ]; do sleep 0.02; done`] },
  });
  // A real wait for a real process: the command is running once it has made its file.
  while (!existsSync(started)) await new Promise((r) => setTimeout(r, 10));
  const touches = () => h.calls.filter((c) => c === 'touch').length;
  try {
    assert.equal(touches(), 0, 'no heartbeat before its interval');
    for (let beat = 1; beat <= 3; beat++) {
      await clock.tick(10_000);
      assert.equal(touches(), beat, `heartbeat ${beat}`);
    }
  } finally {
    writeFileSync(go, ''); // the command ends whatever happened above
  }
  const outcome = await pending;
  assert.equal(outcome.exitCode, 0);
  assert.equal(h.calls.at(-1), 'release cbx_00000000abcd');
  await clock.tick(60_000);
  assert.equal(touches(), 3, 'no heartbeat after the command ended');
  assert.equal(clock.pending, 0, 'every timer of the run is cancelled');
});

test('a recorder that fails is a warning: the command still runs, its exit code stands and the lease is released', async () => {
  const repo = join(tmp.path, 'rec-fail');
  initRepo(repo, { 'a.txt': 'a' });
  for (const broken of ['start', 'finish'] as const) {
    const h = harness();
    const recorder: RunRecorder = {
      start: async () => { if (broken === 'start') throw new Error('ENOSPC: no space left on device'); return 'run_00000000beef'; },
      finish: async () => { throw new Error('ENOSPC: no space left on device'); },
    };
    const outcome = await runOnBox({ ...h.base, recorder, repoRoot: repo, sync: undefined, command: { mode: 'argv', args: ['sh', '-c', 'exit 5'] } });
    assert.equal(outcome.exitCode, 5, broken);
    assert.equal(outcome.remoteExitCode, 5);
    assert.equal(outcome.released, true);
    assert.equal(h.progress.filter((l) => /^warning: could not record the run: ENOSPC/.test(l)).length, 1, h.progress.join('|'));
  }
});

test('afterCommand runs on the box after the command, and finishExtras reach the record', async () => {
  const repo = join(tmp.path, 'after');
  initRepo(repo, { 'a.txt': 'a' });
  const h = harness();
  let seen = '';
  const junit = { tests: 1, passed: 1, failures: 0, errors: 0, skipped: 0, time: 0, files: [], failed: [], failedOmitted: 0, warnings: [] };
  const outcome = await runOnBox({
    ...h.base, repoRoot: repo, sync: undefined, command: { mode: 'argv', args: ['sh', '-c', 'echo done > marker.txt'] },
    // Reads, over the box connection and in the run's workdir, the file the command wrote: it ran after the command.
    afterCommand: async (box, workdir) => {
      const child = box.exec(`cd '${workdir}' && cat marker.txt`);
      child.stdin?.end();
      for await (const chunk of child.stdout!) seen += String(chunk);
    },
    finishExtras: () => ({ junit }),
  });
  assert.equal(outcome.exitCode, 0);
  assert.equal(seen, 'done\n');
  assert.deepEqual(h.records.finish?.[1].junit, junit);
});

test('a slow reader of the output gets every byte, handed over no faster than it takes them', async () => {
  const h = harness();
  const { Writable } = await import('node:stream');
  let received = 0;
  let pendingMax = 0;
  // Acknowledges each write only on a later turn of the event loop, like a slow pipe; the run must wait for it.
  const slow: import('node:stream').Writable = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      // Everything handed over and not yet taken: the chunk in hand and what is queued behind it.
      pendingMax = Math.max(pendingMax, slow.writableLength);
      setImmediate(() => {
        received += chunk.length;
        callback();
      });
    },
  });
  const bytes = 8 * 1024 * 1024;
  const outcome = await runOnBox({ ...h.base, stdout: slow, repoRoot: tmp.path, sync: undefined, leaseRef: 'blue-lobster', command: { mode: 'argv', args: ['head', '-c', String(bytes), '/dev/zero'] } });
  assert.equal(outcome.exitCode, 0);
  assert.equal(received, bytes);
  // What sits in the slow writer at once stays a few chunks, never the whole output.
  assert.ok(pendingMax < 2 * 1024 * 1024, `pending peaked at ${pendingMax} bytes`);
});

test('a run that fails before it has a lease has no record and no run id', async () => {
  const h = harness();
  let started = 0;
  const recorder: RunRecorder = { start: async () => { started++; return 'run_00000000abcd'; }, finish: async () => undefined };
  const outcome = await runOnBox({
    ...h.base, recorder, repoRoot: tmp.path, sync: undefined, command: { mode: 'argv', args: ['true'] },
    leases: { ...h.base.leases, acquire: async () => { throw new Error('the provider is down'); } },
  });
  assert.equal(outcome.exitCode, 70);
  assert.equal(outcome.runId, undefined, 'no id that `logs`/`results` could not find');
  assert.equal(started, 0);
});

test('a run that holds a lease is recorded even when connecting to the box fails', async () => {
  const h = harness();
  const outcome = await runOnBox({
    ...h.base, repoRoot: tmp.path, sync: undefined, command: { mode: 'argv', args: ['true'] },
    connect: async () => { throw new (await import('../domain/errors.ts')).CrabboxError('ssh_failed', 'ssh to the box failed'); },
  });
  assert.equal(outcome.exitCode, 74);
  assert.equal(outcome.runId, 'run_00000000abcd');
  assert.deepEqual([h.records.finish?.[0], h.records.finish?.[1].exitCode, h.records.finish?.[1].source], ['run_00000000abcd', 74, 'crabbox']);
});

test('a lease used as last touched here: a failed connection asks the provider, whose answer is the run\'s error; a failed sync asks nothing', async () => {
  const { CrabboxError } = await import('../domain/errors.ts');
  const rechecks: string[] = [];
  const recent = (h: ReturnType<typeof harness>) => ({
    ...h.base.leases,
    acquire: async () => ({ lease: lease('cbx_00000000abcd'), target: 'target', fresh: false, recent: true }),
    recheck: async (l: Lease) => {
      rechecks.push(l.id);
      throw new CrabboxError('lease_expired', `lease ${l.id} expired`);
    },
  });
  const h = harness();
  const gone = await runOnBox({
    ...h.base, leases: recent(h), leaseRef: 'blue-lobster', repoRoot: tmp.path, sync: undefined, command: { mode: 'argv', args: ['true'] },
    connect: async () => { throw new CrabboxError('ssh_failed', 'ssh to the box failed'); },
  });
  assert.deepEqual([gone.error?.code, gone.error?.message, gone.exitCode], ['lease_expired', 'lease cbx_00000000abcd expired', 75]);
  assert.deepEqual(rechecks, ['cbx_00000000abcd']);

  // A sync refused on the box (too many deletions) is not the lease's doing: the provider is not asked.
  const repo = join(tmp.path, 'repo-recent');
  initRepo(repo, { 'a.txt': 'a', 'b.txt': 'b' });
  const h2 = harness();
  await runOnBox({ ...h2.base, leases: recent(h2), leaseRef: 'blue-lobster', repoRoot: repo, sync: startSync({ repoRoot: repo, settings }), command: { mode: 'argv', args: ['true'] } });
  unlinkSync(join(repo, 'a.txt'));
  unlinkSync(join(repo, 'b.txt'));
  const h3 = harness();
  const refused = await runOnBox({ ...h3.base, leases: recent(h3), leaseRef: 'blue-lobster', repoRoot: repo, sync: startSync({ repoRoot: repo, settings }), command: { mode: 'argv', args: ['true'] } });
  assert.match(refused.error?.message ?? '', /sync would delete 2 files/);
  assert.deepEqual(rechecks, ['cbx_00000000abcd'], 'asked once, for the failed connection only');
});

test('brokered, a remembered lease: the command waits for the coordinator, and runs nothing when it refuses the lease or names another box', async () => {
  const { CrabboxError } = await import('../domain/errors.ts');
  const marker = join(tmp.path, 'work-ran');
  const attempt = async (confirm: () => Promise<Lease>) => {
    const h = harness();
    const outcome = await runOnBox({
      ...h.base,
      leases: { ...h.base.leases, acquire: async () => ({ lease: lease('cbx_00000000abcd'), target: 'target', fresh: false, recent: true, confirm }) },
      leaseRef: 'blue-lobster', repoRoot: tmp.path, sync: undefined, command: { mode: 'argv', args: ['touch', marker] },
    });
    return { outcome, progress: h.progress };
  };
  const refused = await attempt(async () => { throw new CrabboxError('lease_not_active', 'lease blue-lobster is released'); });
  assert.deepEqual([refused.outcome.error?.code, refused.outcome.error?.message], ['lease_not_active', 'lease blue-lobster is released']);
  assert.equal(existsSync(marker), false, 'nothing ran');
  assert.ok(!refused.progress.some((l) => /could not record/.test(l)), refused.progress.join('|'));

  const moved = await attempt(async () => ({ ...lease('cbx_00000000abcd'), machine: { ...lease('cbx_00000000abcd').machine!, host: 'elsewhere' } }));
  assert.match(moved.outcome.error?.message ?? '', /is on another box than when this computer last used it; run the command again/);
  assert.equal(existsSync(marker), false, 'nothing ran');

  const confirmed = await attempt(async () => lease('cbx_00000000abcd'));
  assert.equal(confirmed.outcome.exitCode, 0);
  assert.equal(existsSync(marker), true, 'the command ran once the lease was confirmed');
});

test('an interrupted run is recorded with the exit code crabbox exits with, the signal and the command\'s own code', async () => {
  const repo = join(tmp.path, 'int-rec');
  initRepo(repo, { 'a.txt': 'a' });
  const h = harness();
  const controller = new AbortController();
  // The command turns SIGTERM into exit 9: crabbox still exits 143, and the record says the same.
  const running = runOnBox({ ...h.base, interrupt: controller.signal, repoRoot: repo, sync: undefined, command: { mode: 'shell', args: ["trap 'exit 9' TERM; echo up; while :; do sleep 0.05; done"] } });
  const deadline = Date.now() + 10_000;
  while (!h.stdout().includes('up') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  controller.abort('SIGTERM');
  const outcome = await running;
  assert.equal(outcome.exitCode, 143);
  assert.equal(outcome.remoteExitCode, 9);
  const finish = h.records.finish?.[1];
  assert.deepEqual([finish?.exitCode, finish?.source, finish?.interrupted, finish?.remoteExitCode], [143, 'crabbox', 'SIGTERM', 9]);
});

test('Ctrl-C on a command that ignores SIGINT and SIGTERM escalates on the clock: SIGTERM after 10 s, SIGKILL 5 s later', async () => {
  const repo = join(tmp.path, 'escalate');
  initRepo(repo, { 'a.txt': 'a' });
  const h = harness();
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const controller = new AbortController();
  const pidFile = join(tmp.path, 'escalate.pid');
  let done = false;
  const running = runOnBox({
    ...h.base, clock, interrupt: controller.signal, repoRoot: repo, sync: undefined,
    command: { mode: 'shell', args: [`trap '' INT TERM; echo $$ > ${pidFile}; echo up; while :; do sleep 0.05; done`] },
  }).finally(() => (done = true));
  const waitFor = async (check: () => boolean, what: string): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (!check()) {
      assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await waitFor(() => h.stdout().includes('up'), 'the command to start');
  const pid = Number(readFileSync(pidFile, 'utf8'));
  const alive = (): boolean => { try { process.kill(pid, 0); return true; } catch { return false; } };
  controller.abort('SIGINT');
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(alive() && !done, 'SIGINT is ignored: the command runs on');
  clock.advance(9_999);
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(alive() && !done, 'no SIGTERM before the grace period is over');
  clock.advance(1);
  await waitFor(() => h.progress.some((l) => /still running 10s after SIGINT; sending SIGTERM/.test(l)), 'the SIGTERM step');
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(alive() && !done, 'SIGTERM is ignored too');
  clock.advance(5_000);
  const outcome = await running;
  assert.ok(h.progress.some((l) => /still running 5s after SIGTERM; sending SIGKILL/.test(l)), h.progress.join('|'));
  await waitFor(() => !alive(), 'the command to be killed');
  assert.equal(outcome.exitCode, 130);
  assert.equal(outcome.interrupted, 'SIGINT');
  assert.equal(outcome.released, true);
  assert.equal(h.records.finish?.[1].remoteExitCode, 137, 'the command died of SIGKILL');
});
