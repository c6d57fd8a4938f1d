// Findings 3 and 4 of the security audit (docs/security.md), attacked for real as root against the real local
// provider, with a second unprivileged account that the test creates and removes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { createLocalProvider } from './local-provider.ts';
import { leaseUserName } from './layout.ts';
import { lookupUser } from './users.ts';
import { LEASE_UID_COUNT, LEASE_UID_FIRST, reservationOf, reserveUid, releaseUid } from './uids.ts';
import { ipcObjectsOf } from './purge.ts';
import { newLeaseId } from '../../domain/ids.ts';
import { systemClock } from '../../domain/clock.ts';
import { LABEL } from '../../domain/labels.ts';
import { cleanupExpired } from '../../leases/cleanup.ts';
import { tempDir } from '../../testing/tmp.ts';
import { testBoxesRoot } from '../../testing/boxes-root.ts';
import { createLocalAccount, ownedBy, type LocalAccount } from '../../testing/local-account.ts';
import { openLocalLease, type OpenLease } from '../../testing/local-lease.ts';

const SHARED = ['/tmp', '/var/tmp', '/dev/shm', '/run/lock'];
const inRange = (uid: number): boolean => uid >= LEASE_UID_FIRST && uid < LEASE_UID_FIRST + LEASE_UID_COUNT;

describe('finding 3: lease users share no temp space and no UID', { concurrency: false }, () => {
  const state = tempDir('crabbox-uid-');
  const boxes = testBoxesRoot();
  const provider = createLocalProvider({ stateDir: state.path, boxesRoot: boxes.path });
  let attacker: LocalAccount;
  const leases: OpenLease[] = [];
  const lease = async (): Promise<OpenLease> => {
    const l = await openLocalLease(provider, { stateDir: state.path, boxesRoot: boxes.path, leaseId: newLeaseId() });
    leases.push(l);
    return l;
  };
  before(async () => {
    attacker = await createLocalAccount();
  });
  after(async () => {
    for (const l of leases) {
      await l.close();
      await provider.delete(l.leaseId);
    }
    await attacker.remove();
    state.remove();
    boxes.remove();
  });

  it('every session runs with umask 077 and a private TMPDIR of its own', async () => {
    const a = await lease();
    const r = await a.sh('umask; printf "%s\\n" "$TMPDIR"; stat -c "%a %U" "$TMPDIR"; f=$(mktemp); stat -c "%a" "$f"; dirname "$f"');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['0077', a.layout.tmpDir, `700 ${a.machine.sshUser}`, '600', a.layout.tmpDir]);
  });

  it('a concurrent lease cannot read what another lease wrote to /tmp or its TMPDIR', async () => {
    const a = await lease();
    const b = await lease();
    const name = `/tmp/crabbox-${a.leaseId}-note`;
    const wrote = await a.sh('echo secret-a > "$1" && if [ -n "$TMPDIR" ]; then echo secret-a > "$TMPDIR/note"; fi', name);
    assert.equal(wrote.code, 0, wrote.stderr);
    const read = await b.sh('cat "$1" 2>/dev/null && echo READ-TMP; cat "$2/note" 2>/dev/null && echo READ-TMPDIR; true', name, a.layout.tmpDir);
    assert.equal(read.stdout, '', `lease B read lease A's files: ${read.stdout}`);
  });

  it('delete removes the user\'s files in /tmp, /var/tmp, /dev/shm, /run/lock and its IPC objects, and the UID is not handed out again', async () => {
    const a = await lease();
    const uidA = lookupUser(a.machine.sshUser)!.uid;
    assert.ok(inRange(uidA), `uid ${uidA} is in the lease range`);
    // Another account's world-writable directory: the lease user's files inside it must go too.
    const shelter = `/tmp/crabbox-open-${a.leaseId}`;
    assert.equal(attacker.run(['mkdir', '-m', '0777', shelter]).status, 0);
    assert.equal(attacker.run(['chmod', '0777', shelter]).status, 0);
    const made = await a.sh([
      'set -e',
      'for d in /tmp /var/tmp /dev/shm /run/lock; do echo left > "$d/crabbox-left-$1"; mkdir -p "$d/crabbox-dir-$1/sub" && echo x > "$d/crabbox-dir-$1/sub/f"; done',
      'mkdir "$2/inside" && echo x > "$2/inside/f" && echo y > "$2/loose"',
      'ipcmk -M 4096 >/dev/null && ipcmk -Q >/dev/null && ipcmk -S 1 >/dev/null',
      'nohup sleep 600 >/dev/null 2>&1 &',
    ].join('\n'), a.leaseId, shelter);
    assert.equal(made.code, 0, made.stderr);
    assert.ok(ownedBy(uidA, SHARED).length >= 12, 'the lease user left files everywhere it could');
    assert.equal(ipcObjectsOf(uidA).length, 3);

    await a.close();
    assert.equal(await provider.delete(a.leaseId), 'deleted');
    leases.splice(leases.indexOf(a), 1);
    assert.deepEqual(ownedBy(uidA, SHARED), [], 'nothing of the old UID is left in the shared temp dirs');
    assert.deepEqual(ipcObjectsOf(uidA), [], 'no IPC object of the old UID is left');
    assert.deepEqual(readdirSync(shelter), [], 'the attacker\'s own directory is kept, the lease user\'s entries in it are gone');
    assert.equal(lookupUser(a.machine.sshUser), undefined);
    rmSync(shelter, { recursive: true, force: true });

    const b = await lease();
    const uidB = lookupUser(b.machine.sshUser)!.uid;
    assert.ok(inRange(uidB));
    assert.notEqual(uidB, uidA, 'the next lease does not get the old UID');
  });

  it('a UID whose old files may remain stays reserved: the allocator skips it', () => {
    const registry = mkdtempSync('/var/lib/crabbox-uids-test-');
    try {
      writeFileSync(join(registry, 'next'), `${LEASE_UID_FIRST}\n`, { mode: 0o600 });
      // A reservation left by a purge that could not finish.
      writeFileSync(join(registry, String(LEASE_UID_FIRST)), JSON.stringify({ uid: LEASE_UID_FIRST, user: 'cbx-000000000000', leaseId: 'cbx_000000000000', machineDir: '/gone' }), { mode: 0o600 });
      const record = { user: 'cbx-111111111111', leaseId: 'cbx_111111111111', machineDir: '/x' };
      const first = reserveUid(record, registry);
      assert.notEqual(first, LEASE_UID_FIRST);
      const second = reserveUid(record, registry);
      assert.ok(second > first, 'the next reservation moves on; a freed UID comes back as late as possible');
      releaseUid(first, registry);
      assert.ok(!existsSync(join(registry, String(first))));
      assert.ok(existsSync(join(registry, String(LEASE_UID_FIRST))), 'the old reservation is untouched');
    } finally {
      rmSync(registry, { recursive: true, force: true });
    }
  });

  it('a UID with something left behind stays reserved after its user is gone, and the orphan sweep frees it once that is removed', async () => {
    const a = await lease();
    const uidA = lookupUser(a.machine.sshUser)!.uid;
    // Something of the user that cannot be removed now (root made it immutable).
    const stuck = `/tmp/crabbox-stuck-${a.leaseId}`;
    writeFileSync(stuck, 'x');
    chownSync(stuck, uidA, uidA);
    execFileSync('chattr', ['+i', stuck]);
    try {
      await a.close();
      assert.equal(await provider.delete(a.leaseId), 'deleted');
      leases.splice(leases.indexOf(a), 1);
      assert.equal(lookupUser(a.machine.sshUser), undefined, 'the user is removed');
      const kept = reservationOf(uidA);
      assert.ok(kept, 'the UID stays reserved');
      assert.match(kept.left?.join('\n') ?? '', new RegExp(stuck));
      const b = await lease();
      assert.notEqual(lookupUser(b.machine.sshUser)!.uid, uidA);
    } finally {
      execFileSync('chattr', ['-i', stuck]);
    }
    const report = await provider.sweepDangling!({ installation: 'test', minAgeMs: 0 });
    assert.ok(report.deleted.some((d) => d.leaseId === a.leaseId && d.kind === 'lease user'), JSON.stringify(report));
    assert.equal(existsSync(stuck), false);
    assert.equal(reservationOf(uidA), undefined, 'the UID is free again');
  });
});

describe('finding 4: a tree deeper than PATH_MAX does not poison cleanup', () => {
  const state = tempDir('crabbox-deep-');
  const boxes = testBoxesRoot();
  const provider = createLocalProvider({ stateDir: state.path, boxesRoot: boxes.path });
  const made: string[] = [];
  after(async () => {
    for (const id of made) await provider.delete(id);
    state.remove();
    boxes.remove();
  });

  it('cleanup removes a lease whose user made a tree longer than PATH_MAX, removes the user only after it, and still removes the next lease', async () => {
    const released = { [LABEL.state]: 'released' };
    const hex = (): string => newLeaseId().slice(5);
    // Leases are cleaned in id order: the poisoned one comes first.
    const poisoned = await openLocalLease(provider, { stateDir: state.path, boxesRoot: boxes.path, leaseId: `cbx_0${hex()}`, labels: released });
    made.push(poisoned.leaseId);
    const next = await openLocalLease(provider, { stateDir: state.path, boxesRoot: boxes.path, leaseId: `cbx_f${hex()}`, labels: released });
    made.push(next.leaseId);
    const uid = lookupUser(poisoned.machine.sshUser)!.uid;
    const name = 'a'.repeat(200);
    const levels = 25;
    assert.ok(poisoned.layout.workRoot.length + levels * (name.length + 1) > 4096, 'the tree is deeper than PATH_MAX');
    // Built inside out (wrap the tree in a new parent, rename), so every command uses short relative paths.
    const deep = await poisoned.sh([
      'set -e',
      'for base in "$2" /tmp/crabbox-deep-"$3"; do',
      '  mkdir -p "$base" && cd "$base" && mkdir tree && echo x > tree/f',
      '  i=0; while [ "$i" -lt "$4" ]; do mkdir wrap && mv tree "wrap/$1" && mv wrap tree; i=$((i + 1)); done',
      'done',
    ].join('\n'), name, poisoned.layout.workRoot, poisoned.leaseId, String(levels));
    assert.equal(deep.code, 0, deep.stderr);
    await poisoned.close();
    await next.close();

    const report = await cleanupExpired({ provider, clock: systemClock, stateDir: state.path, owner: 'contract' });
    assert.deepEqual(report.deleted.map((d) => d.id).sort(), [poisoned.leaseId, next.leaseId].sort());
    assert.deepEqual(report.failed, []);
    for (const l of [poisoned, next]) {
      assert.equal(existsSync(l.layout.boxDir), false, l.layout.boxDir);
      assert.equal(existsSync(l.layout.machineDir), false);
      assert.equal(lookupUser(leaseUserName(l.leaseId)), undefined);
    }
    assert.deepEqual(ownedBy(uid, SHARED), []);
    assert.equal(statSync(boxes.path).isDirectory(), true);
  });
});
