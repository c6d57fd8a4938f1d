import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FakeProvider } from '../providers/fake/fake-provider.ts';
import { ManualClock } from '../domain/clock.ts';
import { isCrabboxError } from '../domain/errors.ts';
import { ExitCode } from '../domain/exit-codes.ts';
import { baseSlug } from '../domain/ids.ts';
import { tempDir } from '../testing/tmp.ts';
import { cleanupExpired } from './cleanup.ts';
import { createDirectLeaseService } from './direct.ts';

/** Issue 11 item 9, direct mode: what a tombstone remembers, for whom, and for how long. */
const MIN = 60_000;
const dirs: { remove(): void }[] = [];
after(() => dirs.forEach((d) => d.remove()));

function setup(owner = 'alice@example.com', shared?: { dir: { path: string; remove(): void }; provider: FakeProvider; clock: ManualClock }, newId?: () => string) {
  const dir = shared?.dir ?? tempDir();
  if (!shared) dirs.push(dir);
  const provider = shared?.provider ?? new FakeProvider();
  const clock = shared?.clock ?? new ManualClock(Date.UTC(2026, 0, 1));
  const config = {
    owner, org: 'local', lease: { ttlSeconds: 3600, idleTimeoutSeconds: 600, keep: false },
    ssh: { port: 2222, fallbackPorts: [22], connectTimeoutSeconds: 5 },
    paths: { userConfig: join(dir.path, 'config.yaml'), stateDir: dir.path }, coordinator: undefined,
  };
  const leases = createDirectLeaseService({ config, provider, clock, waitReady: async () => undefined, newId });
  const cleanup = (dryRun = false) => cleanupExpired({ provider, clock, stateDir: dir.path, owner, dryRun });
  return { dir, provider, clock, leases, cleanup };
}

const failure = async (p: Promise<unknown>): Promise<{ code: string; exit: number; message: string }> => {
  try {
    await p;
  } catch (error) {
    assert.ok(isCrabboxError(error), String(error));
    return { code: error.code, exit: error.exitCode, message: error.message };
  }
  assert.fail('expected a failure');
};

describe('direct-mode tombstones', () => {
  it('an expired lease swept by cleanup answers "expired at <its deadline>" (75), by id and by slug; a dry run leaves none', async () => {
    const { leases, clock, cleanup, dir } = setup();
    const { lease } = await leases.create();
    clock.advance(11 * MIN);
    await cleanup(true);
    assert.equal(existsSync(join(dir.path, 'tombstones')), false, 'a dry run writes nothing');
    await cleanup();
    for (const ref of [lease.id, lease.slug]) {
      assert.deepEqual(await failure(leases.touch(ref)), { code: 'lease_expired', exit: ExitCode.tempFail, message: `lease ${lease.id} (${lease.slug}) expired at 2026-01-01T00:10:00Z` });
    }
    const file = join(dir.path, 'tombstones', `${lease.id}.json`);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir.path, 'tombstones')).mode & 0o777, 0o700);
    assert.deepEqual(Object.keys(JSON.parse(readFileSync(file, 'utf8'))).sort(), ['createdAt', 'endedAt', 'expiresAt', 'id', 'idleTimeoutSeconds', 'keep', 'lastTouchedAt', 'org', 'owner', 'provider', 'slug', 'state', 'ttlSeconds']);
  });

  it('a kept lease expires at its TTL cap, not its idle deadline', async () => {
    const { leases, clock, cleanup } = setup();
    const { lease } = await leases.create({ keep: true });
    clock.advance(61 * MIN);
    await cleanup();
    assert.match((await failure(leases.touch(lease.id))).message, / expired at 2026-01-01T01:00:00Z$/);
  });

  it('a stopped lease answers "was released at T" (75); a new lease with the same slug wins over the tombstone', async () => {
    const first = 'cbx_000000000001';
    // Another id whose slug is the same (576 slugs, so a short search finds one).
    let second = '';
    for (let i = 2; !second; i++) {
      const id = `cbx_${i.toString(16).padStart(12, '0')}`;
      if (baseSlug(id) === baseSlug(first)) second = id;
    }
    const ids = [first, second];
    const { leases, clock } = setup('alice@example.com', undefined, () => ids.shift()!);
    const { lease } = await leases.create();
    clock.advance(2 * MIN);
    await leases.release(lease.id);
    assert.deepEqual(await failure(leases.touch(lease.slug)), { code: 'lease_not_active', exit: ExitCode.tempFail, message: `lease ${lease.id} (${lease.slug}) was released at 2026-01-01T00:02:00Z` });
    const { lease: next } = await leases.create();
    assert.equal(next.slug, lease.slug);
    assert.equal((await leases.resolve(lease.slug)).id, next.id, 'the live lease, not the tombstone');
    assert.equal((await leases.resolve(lease.id)).state, 'released', 'the old id still says what happened');
  });

  it('another owner sharing the state dir never sees a tombstone, and it is pruned after a week', async () => {
    const alice = setup('alice@example.com');
    const { lease } = await alice.leases.create();
    alice.clock.advance(11 * MIN);
    await alice.cleanup();
    const bob = setup('bob@example.com', alice);
    assert.equal((await failure(bob.leases.touch(lease.id))).code, 'lease_not_found');
    alice.clock.advance(7 * 24 * 60 * MIN);
    assert.equal((await failure(alice.leases.touch(lease.id))).code, 'lease_not_found', 'older than a week: not shown');
    await alice.cleanup();
    assert.equal(existsSync(join(alice.dir.path, 'tombstones', `${lease.id}.json`)), false, 'pruned');
  });
});
