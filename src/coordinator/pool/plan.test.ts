import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../domain/clock.ts';
import type { MachineState } from '../../domain/machine.ts';
import { planPool, refillBackoffMs, type PoolAction, type PoolMachineFacts, type PoolSnapshot } from './plan.ts';

const HOUR = 3_600_000;
const clock = new ManualClock(Date.UTC(2026, 3, 1, 12));
const now = clock.now();

let seq = 0;
function m(state: MachineState, ageHours = 1, assignments = 0): PoolMachineFacts {
  seq++;
  return { id: `mch_${String(seq).padStart(12, '0')}`, state, createdAt: now - ageHours * HOUR, assignments };
}

function snap(machines: PoolMachineFacts[], over: Omit<Partial<PoolSnapshot>, "pool" | "budget"> & { pool?: Partial<PoolSnapshot["pool"]>; budget?: Partial<PoolSnapshot["budget"]> } = {}): PoolSnapshot {
  return {
    pool: { name: 'p', min: 2, max: 5, maxAgeHours: 24, maxAssignments: 10, ...over.pool },
    machines,
    failures: over.failures ?? [],
    budget: { perMachine: 0, poolSpent: 0, globalSpent: 0, ...over.budget },
    draining: over.draining,
  };
}

interface Row {
  given: string;
  snapshot: () => PoolSnapshot;
  then: (actions: PoolAction[], s: PoolSnapshot) => void;
}

const creates = (actions: PoolAction[]): number => actions.filter((a) => a.kind === 'create').reduce((n, a) => n + (a.kind === 'create' ? a.count : 0), 0);
const deletes = (actions: PoolAction[], reason?: string): string[] => actions.flatMap((a) => (a.kind === 'delete' && (!reason || a.reason === reason) ? a.machineIds : []));

const rows: Row[] = [
  { given: 'an empty pool', snapshot: () => snap([]), then: (a) => assert.deepEqual(a, [{ kind: 'create', count: 2 }]) },
  { given: 'a full pool', snapshot: () => snap([m('idle'), m('idle')]), then: (a) => assert.deepEqual(a, []) },
  {
    given: 'machines still provisioning (they count as supply: overlapping passes never double-create)',
    snapshot: () => snap([m('provisioning'), m('idle')]),
    then: (a) => assert.deepEqual(a, []),
  },
  {
    given: 'assigned and scrubbing machines (they are not idle supply)',
    snapshot: () => snap([m('assigned'), m('scrubbing'), m('idle')]),
    then: (a) => assert.equal(creates(a), 1),
  },
  {
    given: 'creates clamped to max (assigned machines count)',
    snapshot: () => snap([m('assigned'), m('assigned'), m('assigned'), m('assigned')], { pool: { min: 3, max: 5 } }),
    then: (a) => {
      assert.equal(creates(a), 1);
      assert.ok(a.some((x) => x.kind === 'blocked' && x.reason === 'max' && x.wanted === 3));
    },
  },
  {
    given: 'a pool at max creates nothing, even with no idle machine',
    snapshot: () => snap([m('assigned'), m('draining'), m('scrubbing'), m('provisioning'), m('assigned')], { pool: { min: 3, max: 5 } }),
    then: (a) => {
      assert.equal(creates(a), 0);
      assert.ok(a.some((x) => x.kind === 'blocked' && x.reason === 'max'));
    },
  },
  {
    given: 'idle machines past maxAgeHours, oldest first, replaced',
    snapshot: () => snap([m('idle', 30), m('idle', 25), m('idle', 1)]),
    then: (a, s) => {
      assert.deepEqual(deletes(a, 'max-age'), [s.machines[0]!.id, s.machines[1]!.id]);
      assert.equal(creates(a), 1);
    },
  },
  {
    given: 'an idle machine past maxAssignments',
    snapshot: () => snap([m('idle', 2, 10), m('idle', 1, 3)]),
    then: (a, s) => {
      assert.deepEqual(deletes(a, 'max-assignments'), [s.machines[0]!.id]);
      assert.equal(creates(a), 1);
    },
  },
  {
    given: 'an assigned machine past its limits (it is deleted when its lease ends, not now)',
    snapshot: () => snap([m('assigned', 30, 99), m('idle'), m('idle')]),
    then: (a) => assert.deepEqual(a, []),
  },
  {
    given: 'more idle machines than min: the oldest extra ones go',
    snapshot: () => snap([m('idle', 5), m('idle', 3), m('idle', 4), m('idle', 1)]),
    then: (a, s) => assert.deepEqual(deletes(a, 'extraneous'), [s.machines[0]!.id, s.machines[2]!.id]),
  },
  {
    given: 'a recent failed refill: creates back off, deletes do not',
    snapshot: () => snap([m('idle', 30)], { failures: [now - 10_000] }),
    then: (a, s) => {
      assert.deepEqual(deletes(a), [s.machines[0]!.id]);
      assert.equal(creates(a), 0);
      assert.deepEqual(a.find((x) => x.kind === 'backoff'), { kind: 'backoff', until: now - 10_000 + 30_000, failures: 1 });
    },
  },
  {
    given: 'three failures in a row: the backoff doubles each time',
    snapshot: () => snap([], { failures: [now - 200_000, now - 100_000, now - 60_000] }),
    then: (a) => assert.deepEqual(a, [{ kind: 'backoff', until: now - 60_000 + 120_000, failures: 3 }]),
  },
  {
    given: 'a backoff that has run out',
    snapshot: () => snap([], { failures: [now - 31_000] }),
    then: (a) => assert.equal(creates(a), 2),
  },
  {
    given: 'failures older than the lookback window',
    snapshot: () => snap([], { failures: [now - 2 * HOUR, now - 2 * HOUR + 1000, now - 2 * HOUR + 2000, now - 2 * HOUR + 3000, now - 2 * HOUR + 4000, now - 2 * HOUR + 5000] }),
    then: (a) => assert.equal(creates(a), 2),
  },
  {
    given: 'a pool budget that affords one more machine',
    snapshot: () => snap([], { pool: { budget: 10 }, budget: { perMachine: 4, poolSpent: 5, globalSpent: 0 } }),
    then: (a) => {
      assert.equal(creates(a), 1);
      assert.ok(a.some((x) => x.kind === 'blocked' && x.reason === 'budget'));
    },
  },
  {
    given: 'the global spend cap reached',
    snapshot: () => snap([], { budget: { perMachine: 4, poolSpent: 0, globalSpent: 98, globalLimit: 100 } }),
    then: (a) => {
      assert.equal(creates(a), 0);
      assert.ok(a.some((x) => x.kind === 'blocked' && x.reason === 'spend-cap'));
    },
  },
  {
    given: 'free machines (no price) and a budget',
    snapshot: () => snap([], { pool: { budget: 0 }, budget: { perMachine: 0, poolSpent: 0, globalSpent: 0, globalLimit: 0 } }),
    then: (a) => assert.equal(creates(a), 2),
  },
  { given: 'a drained pool below min', snapshot: () => snap([m('assigned')], { draining: true }), then: (a) => assert.deepEqual(a, [{ kind: 'blocked', reason: 'draining', wanted: 2 }]) },
  { given: 'min 0', snapshot: () => snap([m('idle')], { pool: { min: 0 } }), then: (a) => assert.equal(deletes(a, 'extraneous').length, 1) },
];

describe('planPool', () => {
  for (const row of rows) {
    it(`GIVEN ${row.given}`, () => {
      const s = row.snapshot();
      row.then(planPool(s, clock.now()), s);
    });
  }

  it('is pure: the same snapshot and time give the same plan, and the snapshot is not changed', () => {
    const s = snap([m('idle', 30), m('provisioning'), m('idle', 5), m('idle', 4)], { failures: [now - 1000] });
    const copy = structuredClone(s);
    assert.deepEqual(planPool(s, now), planPool(s, now));
    assert.deepEqual(s, copy);
  });

  it('backoff: 30 s, 1 min, 2 min, ... capped at 15 min', () => {
    assert.deepEqual([0, 1, 2, 3, 6, 20].map(refillBackoffMs), [0, 30_000, 60_000, 120_000, 900_000, 900_000]);
  });

  it('time moves on: the same failures stop holding creates back once the backoff has passed', () => {
    const c = new ManualClock(now);
    const s = snap([], { failures: [now] });
    assert.equal(creates(planPool(s, c.now())), 0);
    c.advance(29_999);
    assert.equal(creates(planPool(s, c.now())), 0);
    c.advance(1);
    assert.equal(creates(planPool(s, c.now())), 2);
  });
});
