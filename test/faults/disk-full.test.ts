// The coordinator's SQLite database on a full disk: a real 4 MiB tmpfs (the suite runs as root), filled to the last
// byte. Requests that must write are refused with a clear 503 and change nothing (no machine without its record, no
// lease lost); once space is back everything works again and nothing is left over.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, rmdirSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sweep } from '../../src/coordinator/sweeper.ts';
import { harness, PUBLIC_KEY } from '../../src/coordinator/testkit.ts';
import { requireRoot } from '../../src/testing/requires.ts';

/** Writes zeros until the filesystem says ENOSPC. */
function fill(file: string): void {
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, block);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
}

describe('disk full under the coordinator database (a real tmpfs)', () => {
  it('writes are refused with a clear 503 and change nothing; once space is back the lease is released and the machine deleted', async (t) => {
    requireRoot('mounting a small tmpfs');
    const dir = mkdtempSync('/tmp/crabbox-diskfull-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', dir]);
    t.after(() => {
      execFileSync('umount', ['-l', dir]);
      rmdirSync(dir);
    });
    const h = await harness({ path: join(dir, 'fleet.db') });
    t.after(() => h.close().catch(() => undefined));
    const alice = await h.userToken('alice', { expiresInSeconds: 86_400 });
    const created = await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: PUBLIC_KEY } });
    assert.equal(created.status, 201);
    const id = created.json.lease.id as string;
    assert.equal(h.provider.machines.size, 1);

    const filler = join(dir, 'filler');
    fill(filler);
    const full = await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: PUBLIC_KEY } });
    assert.equal(full.status, 503, JSON.stringify(full.json));
    assert.equal(full.json.error, 'unavailable');
    assert.match(full.json.message, /cannot write its database: the disk is full; nothing was changed/);
    assert.equal(h.provider.machines.size, 1, 'no machine was made without its record');
    const release = await h.request('POST', `/v1/leases/${id}/release`, { token: alice });
    assert.equal(release.status, 503, JSON.stringify(release.json));
    assert.equal(h.provider.machines.size, 1, 'the machine stays while its release could not be recorded');
    h.clock.advance(2 * 3600_000);
    await assert.rejects(sweep(h.deps), 'a sweep that cannot write fails (the scheduler logs it and tries again)');
    const readable = await h.request('GET', `/v1/leases/${id}`, { token: alice });
    assert.equal(readable.status, 200, 'reads still work');
    assert.equal(readable.json.lease.state, 'active', 'the lease is untouched');

    rmSync(filler);
    const stats = await sweep(h.deps);
    assert.deepEqual([stats.expired, stats.deleted], [1, 1], 'with space back, the sweep expires the lease and deletes its machine');
    assert.equal(h.provider.machines.size, 0);
    const record = await h.store.getLease(id);
    assert.deepEqual([record?.state, (await h.store.getMachine(record!.machineId!))?.state], ['expired', 'deleted'], 'the lease was never lost');
    assert.equal((await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: PUBLIC_KEY } })).status, 201);
  });
});
