// A box whose state dir was deleted with a lease still on it (a throwaway HOME removed, a CI workspace wiped): its
// box dir, user and files stayed forever, since only its own state dir's sweep looked at it. A root sweep from any
// state dir now removes such a box once no sshd serves it, and leaves alone one whose sshd still runs.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { createLocalProvider } from './local-provider.ts';
import { leaseUserName, machineLayout } from './layout.ts';
import { sshdsWithConfig, stopSshd } from './sshd.ts';
import { lookupUser } from './users.ts';
import { newLeaseId } from '../../domain/ids.ts';
import { tempDir } from '../../testing/tmp.ts';
import { testBoxesRoot } from '../../testing/boxes-root.ts';
import { localSpec } from '../../testing/local-lease.ts';

describe('local provider: boxes of a state dir that is gone', { concurrency: false }, () => {
  const boxes = testBoxesRoot();
  const gone = tempDir('crabbox-gone-state-');
  const sweeper = tempDir('crabbox-sweeper-state-');
  const theirs = createLocalProvider({ stateDir: gone.path, boxesRoot: boxes.path });
  const ours = createLocalProvider({ stateDir: sweeper.path, boxesRoot: boxes.path });
  after(() => {
    gone.remove();
    sweeper.remove();
    boxes.remove();
  });

  const boxOf = async (): Promise<{ leaseId: string; layout: ReturnType<typeof machineLayout> }> => {
    const leaseId = newLeaseId();
    await theirs.create(await localSpec(gone.path, leaseId));
    return { leaseId, layout: machineLayout({ stateDir: gone.path, boxesRoot: boxes.path, leaseId }) };
  };

  it('as root, another state dir\'s sweep removes a box whose state dir is gone and whose sshd is not running: box dir, user and all', async (t) => {
    assert.equal(process.getuid?.(), 0, 'needs root (Unix users and the boxes root)');
    const { leaseId, layout } = await boxOf();
    t.after(() => theirs.delete(leaseId).catch(() => undefined));
    assert.ok(lookupUser(leaseUserName(leaseId)), 'the box has its user');
    // The state dir goes first (rm -rf of a HOME); the box's sshd dies later (a reboot, a kill).
    await stopSshd(layout.pidFile, layout.sshdConfig);
    rmSync(gone.path, { recursive: true, force: true });
    assert.ok(existsSync(layout.boxDir), 'the box dir stayed behind');

    const report = await ours.sweepDangling!({ installation: 'cli', minAgeMs: 0 });
    const mine = report.deleted.filter((d) => d.leaseId === leaseId);
    assert.deepEqual(mine.map((d) => d.kind), ['box dir']);
    assert.match(mine[0]!.reason, /another state dir .*no sshd serves it/);
    assert.equal(Object.hasOwn(mine[0]!, 'stateDir'), false, 'the report keeps its documented shape');
    assert.equal(existsSync(layout.boxDir), false, 'no box dir');
    assert.equal(lookupUser(leaseUserName(leaseId)), undefined, 'no user');
    assert.deepEqual(report.skipped.filter((d) => d.leaseId === leaseId), []);
  });

  it('leaves a box of another state dir alone while its sshd still runs, and while its machine dir is there', async (t) => {
    assert.equal(process.getuid?.(), 0, 'needs root (Unix users and the boxes root)');
    const live = await boxOf();
    t.after(() => theirs.delete(live.leaseId).catch(() => undefined));
    const served = await boxOf();
    t.after(async () => {
      await stopSshd(served.layout.pidFile, served.layout.sshdConfig);
      await ours.sweepDangling!({ installation: 'cli', minAgeMs: 0 });
    });
    // `served` loses its machine dir but its sshd still listens: someone may be using it.
    const pids = sshdsWithConfig(served.layout.sshdConfig);
    assert.equal(pids.length, 1);
    rmSync(served.layout.machineDir, { recursive: true, force: true });

    const report = await ours.sweepDangling!({ installation: 'cli', minAgeMs: 0 });
    const touched = [...report.deleted, ...report.skipped].map((d) => d.leaseId);
    assert.ok(!touched.includes(live.leaseId), 'a box with its machine dir is its own state dir\'s');
    assert.ok(!touched.includes(served.leaseId), 'a box whose sshd runs is left to its own state dir');
    assert.ok(existsSync(live.layout.boxDir) && existsSync(served.layout.boxDir));
    assert.deepEqual(sshdsWithConfig(served.layout.sshdConfig), pids, 'its sshd was not stopped');
  });
});
