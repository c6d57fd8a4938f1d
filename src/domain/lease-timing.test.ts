import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { API_NAMES, checkIdleTimeout, describeTimingProblem, FLAG_NAMES, leaseTimings } from './lease-timing.ts';
import type { Lease } from './lease.ts';
import { touch } from './lifecycle.ts';
import { closest } from './closest.ts';
import { plural } from './plural.ts';
import { formatHours } from './duration.ts';
import { networkCause } from './network-error.ts';

const H = 3600;

describe('the lease timing rule', () => {
  it('keeps the defaults (90m, 30m) and the 24h cap', () => {
    assert.deepEqual(leaseTimings({}), { ok: true, ttlSeconds: 90 * 60, idleTimeoutSeconds: 30 * 60 });
    assert.deepEqual(leaseTimings({ ttlSeconds: 24 * H }), { ok: true, ttlSeconds: 24 * H, idleTimeoutSeconds: 30 * 60 });
  });

  it('refuses explicit values out of range instead of clamping them', () => {
    const short = leaseTimings({ ttlSeconds: 40, idleTimeoutSeconds: 20 });
    assert.deepEqual(short, { ok: false, problem: { field: 'ttl', seconds: 40, min: 60, max: 24 * H, overTtl: false } });
    assert.equal(leaseTimings({ ttlSeconds: 25 * H }).ok, false);
    assert.deepEqual(leaseTimings({ idleTimeoutSeconds: 0 }), { ok: false, problem: { field: 'idleTimeout', seconds: 0, min: 60, max: 90 * 60, overTtl: false } });
    assert.deepEqual(leaseTimings({ ttlSeconds: H, idleTimeoutSeconds: 2 * H }), { ok: false, problem: { field: 'idleTimeout', seconds: 2 * H, min: 60, max: H, overTtl: true } });
    assert.equal(leaseTimings({ ttlSeconds: 90.5 }).ok, false);
  });

  it('only defaults adapt: a default idle timeout shrinks to a shorter TTL, a default TTL to the operator cap', () => {
    assert.deepEqual(leaseTimings({ ttlSeconds: 600 }), { ok: true, ttlSeconds: 600, idleTimeoutSeconds: 600 });
    assert.deepEqual(leaseTimings({}, { maxTtlSeconds: H }), { ok: true, ttlSeconds: H, idleTimeoutSeconds: 30 * 60 });
    assert.deepEqual(leaseTimings({ ttlSeconds: 2 * H }, { maxTtlSeconds: H }), { ok: false, problem: { field: 'ttl', seconds: 2 * H, min: 60, max: H, overTtl: false } });
  });

  it('says what was refused in the caller\'s own names: flags for the CLI, body fields for the API', () => {
    const problem = { field: 'ttl' as const, seconds: 40, min: 60, max: 24 * H, overTtl: false };
    assert.equal(describeTimingProblem(problem, FLAG_NAMES), '--ttl 40s is out of range; allowed 1m to 24h');
    assert.equal(describeTimingProblem(problem, API_NAMES), 'ttlSeconds: 40 is out of range; allowed 60 to 86400 seconds (1m to 24h)');
    const over = checkIdleTimeout(2 * H, 90 * 60)!;
    assert.equal(describeTimingProblem(over, FLAG_NAMES), "--idle-timeout 2h is longer than the lease's TTL (1h30m); allowed 1m to 1h30m");
  });

  it('a heartbeat with an idle timeout out of range is refused, not silently set to 60s or the TTL', () => {
    const lease: Lease = { id: 'cbx_000000000001', slug: 'a-b', owner: 'o', org: 'o', provider: 'local', state: 'active', keep: false, ttlSeconds: 90 * 60, idleTimeoutSeconds: 1800, createdAt: 0, lastTouchedAt: 0, expiresAt: 1800_000 };
    assert.deepEqual(touch(lease, 1000, 0), { ok: false, reason: 'bad_idle', problem: { field: 'idleTimeout', seconds: 0, min: 60, max: 5400, overTtl: false } });
    assert.equal(touch(lease, 1000, 2 * H).ok, false);
    const ok = touch(lease, 1000, 3600);
    assert.ok(ok.ok && ok.lease.idleTimeoutSeconds === 3600);
  });
});

describe('small wording helpers', () => {
  it('plural', () => {
    assert.equal(plural(1, 'live lease'), '1 live lease');
    assert.equal(plural(0, 'pattern'), '0 patterns');
    assert.equal(plural(2, 'box', 'boxes'), '2 boxes');
  });

  it('formatHours never says days', () => {
    assert.deepEqual([45, 1800, 5400, 86400, 129600].map(formatHours), ['45s', '30m', '1h30m', '24h', '36h']);
  });

  it('closest finds typos and suffixed names, and nothing for unrelated words', () => {
    assert.equal(closest('lsit', ['list', 'login', 'logs']), 'list');
    assert.equal(closest('ttlSeconds', ['ttl', 'idleTimeout', 'keep']), 'ttl');
    assert.equal(closest('zebra', ['list', 'login']), undefined);
  });

  it('networkCause finds the code and address in a fetch failure\'s cause chain', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8787'), { code: 'ECONNREFUSED', address: '127.0.0.1', port: 8787 });
    assert.equal(networkCause(new TypeError('fetch failed', { cause })), 'ECONNREFUSED 127.0.0.1:8787');
    assert.equal(networkCause(new TypeError('fetch failed', { cause: new AggregateError([cause]) })), 'ECONNREFUSED 127.0.0.1:8787');
    assert.equal(networkCause(new Error('nope')), undefined);
  });
});
