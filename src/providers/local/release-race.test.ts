// Issue 11 item 1: a lease released while its local machine is still being created leaves no sshd, user or
// directory, and the orphan sweep finds an sshd whose machine dir is gone.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLocalProvider } from './local-provider.ts';
import { leaseUserName, machineLayout } from './layout.ts';
import { sshdsWithConfig } from './sshd.ts';
import { lookupUser } from './users.ts';
import { newLeaseId } from '../../domain/ids.ts';
import { isCrabboxError } from '../../domain/errors.ts';
import { tempDir } from '../../testing/tmp.ts';
import { testBoxesRoot } from '../../testing/boxes-root.ts';
import { leaseLeftovers } from '../../testing/leftovers.ts';
import { localSpec } from '../../testing/local-lease.ts';

describe('local provider: delete wins over a create in flight', { concurrency: false }, () => {
  const state = tempDir('crabbox-race-');
  const boxes = testBoxesRoot();
  const provider = createLocalProvider({ stateDir: state.path, boxesRoot: boxes.path });
  after(() => {
    state.remove();
    boxes.remove();
  });

  const nothingLeft = (leaseId: string): void => {
    const layout = machineLayout({ stateDir: state.path, boxesRoot: boxes.path, leaseId });
    assert.deepEqual(sshdsWithConfig(layout.sshdConfig), [], `no sshd of ${leaseId}`);
    assert.equal(lookupUser(leaseUserName(leaseId)), undefined, `no user of ${leaseId}`);
    assert.equal(existsSync(layout.boxDir), false, `no box dir of ${leaseId}`);
    assert.equal(existsSync(layout.machineDir), false, `no machine dir of ${leaseId}`);
    // The key dir under <state>/leases is the lease service's to remove, not the provider's.
    assert.deepEqual(leaseLeftovers({ stateDir: state.path, leaseId, boxesRoot: boxes.path }).filter((l) => !l.endsWith(`/leases/${leaseId}`)), []);
  };

  for (const delay of [40, 50, 60, 70, 80]) {
    it(`released ${delay} ms after its machine dir appears: no sshd, user or directory is left`, async () => {
      const leaseId = newLeaseId();
      const layout = machineLayout({ stateDir: state.path, boxesRoot: boxes.path, leaseId });
      const created = provider.create(await localSpec(state.path, leaseId)).then(() => undefined, (error: unknown) => error);
      for (let i = 0; i < 5000 && !existsSync(layout.machineDir); i++) await sleep(2);
      assert.ok(existsSync(layout.machineDir), 'the create started');
      await sleep(delay);
      assert.equal(await provider.delete(leaseId), 'deleted');
      const outcome = await created;
      await sleep(300); // an sshd that was still starting would have written its pid file by now
      nothingLeft(leaseId);
      // Either the create noticed the release and stopped, or it had finished first and the delete removed its box.
      if (outcome !== undefined) assert.ok(isCrabboxError(outcome) && outcome.code === 'lease_not_active', String(outcome));
      await assert.rejects(provider.create(await localSpec(state.path, leaseId)), (error: unknown) => isCrabboxError(error) && error.code === 'lease_not_active', 'a released lease is never created again');
      nothingLeft(leaseId);
    });
  }

  it('the orphan sweep stops an sshd whose machine dir is gone, and removes its user and box', async () => {
    const leaseId = newLeaseId();
    const layout = machineLayout({ stateDir: state.path, boxesRoot: boxes.path, leaseId });
    await provider.create(await localSpec(state.path, leaseId));
    // What the race used to leave: the machine dir gone, sshd (and the rest) still there.
    rmSync(layout.machineDir, { recursive: true, force: true });
    assert.equal(sshdsWithConfig(layout.sshdConfig).length, 1, 'an sshd listens without its machine dir');
    assert.equal(await provider.get(leaseId), undefined, 'nothing lists it any more');
    const report = await provider.sweepDangling!({ installation: 'cli', minAgeMs: 0 });
    assert.deepEqual(report.deleted.filter((d) => d.leaseId === leaseId).map((d) => d.kind), ['sshd']);
    nothingLeft(leaseId);
  });
});
