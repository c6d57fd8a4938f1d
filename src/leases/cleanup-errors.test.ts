import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../domain/clock.ts';
import { LABEL } from '../domain/labels.ts';
import { newLeaseId } from '../domain/ids.ts';
import { CrabboxError } from '../domain/errors.ts';
import { baseSpec } from '../providers/provider.contract.ts';
import { FakeProvider } from '../providers/fake/fake-provider.ts';
import { tempDir } from '../testing/tmp.ts';
import { cleanupExpired } from './cleanup.ts';

const keys = { sshPublicKey: 'ssh-ed25519 AAAAfake user', hostKey: { privateKey: 'fake', publicKey: 'ssh-ed25519 AAAAhost' } };

describe('direct cleanup, one lease at a time', () => {
  const state = tempDir();
  after(() => state.remove());

  it('a lease whose delete fails is reported and retried later; every other expired lease is still deleted', async () => {
    const clock = new ManualClock();
    const provider = new FakeProvider();
    const released = { [LABEL.state]: 'released' };
    const bad = await provider.create(baseSpec(newLeaseId(), keys, released));
    const good = await provider.create(baseSpec(newLeaseId(), keys, released));
    provider.fail({ step: 'delete', error: () => new CrabboxError('provider_error', 'rm: cannot remove: File name too long') });

    const report = await cleanupExpired({ provider, clock, stateDir: state.path, owner: 'contract' });
    assert.deepEqual(report.failed.map((f) => [f.id, f.reason]), [[bad.labels[LABEL.lease], 'rm: cannot remove: File name too long']]);
    assert.deepEqual(report.deleted.map((d) => d.id), [good.labels[LABEL.lease]]);
    assert.equal(await provider.get(good.providerId), undefined, 'the lease after the failing one is gone');
    assert.ok(await provider.get(bad.providerId), 'the failing one is still there for the next cleanup');

    const again = await cleanupExpired({ provider, clock, stateDir: state.path, owner: 'contract' });
    assert.deepEqual(again.deleted.map((d) => d.id), [bad.labels[LABEL.lease]]);
    assert.deepEqual(again.failed, []);
  });
});
