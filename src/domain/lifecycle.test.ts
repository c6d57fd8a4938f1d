import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Lease } from './lease.ts';
import { deadline, endLease, startLease, touch } from './lifecycle.ts';

const T0 = Date.UTC(2026, 0, 15, 12);
const MIN = 60_000;

function lease(overrides: Partial<Lease> = {}): Lease {
  const started = startLease({ ttlSeconds: 3600, idleTimeoutSeconds: 600, keep: overrides.keep }, {}, T0);
  assert.ok(started.ok);
  return { id: 'cbx_000000000001', slug: 'blue-crab', owner: 'o', org: 'g', provider: 'p', state: 'active', ...started.start, ...overrides };
}

describe('lease lifecycle rules', () => {
  it('a new lease starts touched, expiring at its idle deadline (a kept one at its TTL cap)', () => {
    assert.deepEqual(startLease({ ttlSeconds: 3600, idleTimeoutSeconds: 600 }, {}, T0), { ok: true, start: { keep: false, ttlSeconds: 3600, idleTimeoutSeconds: 600, createdAt: T0, lastTouchedAt: T0, expiresAt: T0 + 10 * MIN } });
    assert.equal(lease({ keep: true }).expiresAt, T0 + 60 * MIN);
    assert.deepEqual(startLease({ ttlSeconds: 30 }, {}, T0), { ok: false, problem: { field: 'ttl', seconds: 30, min: 60, max: 86400, overTtl: false } });
    assert.equal(startLease({}, { maxTtlSeconds: 1800 }, T0).ok && (startLease({}, { maxTtlSeconds: 1800 }, T0) as { start: { ttlSeconds: number } }).start.ttlSeconds, 1800);
  });

  it('a touch says whether it raised the idle timeout (the coordinator re-checks its caps then)', () => {
    const l = lease();
    const plain = touch(l, T0 + MIN);
    assert.ok(plain.ok && !plain.extended && plain.lease.expiresAt === T0 + 11 * MIN);
    const longer = touch(l, T0 + MIN, 1200);
    assert.ok(longer.ok && longer.extended);
    const shorter = touch(l, T0 + MIN, 300);
    assert.ok(shorter.ok && !shorter.extended);
  });

  it('a release before the deadline is a release now; at or past it, an expiry at the deadline', () => {
    assert.deepEqual(endLease(lease(), 'release', T0 + 5 * MIN), { state: 'released', endedAt: T0 + 5 * MIN, expiresAt: T0 + 10 * MIN });
    assert.deepEqual(endLease(lease(), 'release', T0 + 10 * MIN), { state: 'expired', endedAt: T0 + 10 * MIN, expiresAt: T0 + 10 * MIN });
    assert.deepEqual(endLease(lease(), 'release', T0 + 50 * MIN), { state: 'expired', endedAt: T0 + 10 * MIN, expiresAt: T0 + 10 * MIN });
  });

  it('a kept lease lives to its TTL cap, even when its record says an earlier expiry', () => {
    const kept = lease({ keep: true, expiresAt: T0 + 10 * MIN });
    assert.equal(deadline(kept), T0 + 60 * MIN);
    assert.equal(endLease(kept, 'release', T0 + 30 * MIN)?.state, 'released');
    assert.deepEqual(endLease(kept, 'expire', T0 + 61 * MIN), { state: 'expired', endedAt: T0 + 60 * MIN, expiresAt: T0 + 60 * MIN });
  });

  it('an expiry that is not due yet is no expiry; a failed create fails now; an ended lease ends once', () => {
    assert.equal(endLease(lease(), 'expire', T0 + 9 * MIN), undefined);
    assert.deepEqual(endLease(lease({ state: 'provisioning' }), 'fail', T0 + MIN), { state: 'failed', endedAt: T0 + MIN, expiresAt: T0 + 10 * MIN });
    for (const state of ['released', 'expired', 'failed'] as const) {
      for (const cause of ['release', 'expire', 'fail'] as const) assert.equal(endLease(lease({ state }), cause, T0 + 90 * MIN), undefined, `${state}/${cause}`);
    }
  });
});
