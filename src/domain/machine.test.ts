import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { afterLeaseEnds, canTransition, drainMove, isMachineKnown, MACHINE_STATES, MACHINE_TRANSITIONS, statesInto, undrainMove, type MachineState } from './machine.ts';

describe('machine states', () => {
  it('allows exactly the moves of the lifecycle: provisioning -> idle/assigned -> scrubbing -> idle, draining -> deleting -> deleted, failed', () => {
    const allowed = MACHINE_STATES.flatMap((from) => MACHINE_STATES.filter((to) => canTransition(from, to)).map((to) => `${from}->${to}`));
    assert.deepEqual(allowed, [
      'provisioning->idle', 'provisioning->assigned', 'provisioning->draining', 'provisioning->deleting', 'provisioning->failed',
      'idle->assigned', 'idle->draining', 'idle->deleting',
      'assigned->scrubbing', 'assigned->draining', 'assigned->deleting',
      'scrubbing->idle', 'scrubbing->draining', 'scrubbing->deleting',
      'draining->provisioning', 'draining->idle', 'draining->assigned', 'draining->deleting', 'draining->failed',
      'deleting->deleted',
    ]);
  });

  it('ends in deleted or failed, and nothing leaves them; a machine never returns from deleting', () => {
    assert.deepEqual(MACHINE_TRANSITIONS.deleted, []);
    assert.deepEqual(MACHINE_TRANSITIONS.failed, []);
    assert.deepEqual(MACHINE_TRANSITIONS.deleting, ['deleted']);
    assert.deepEqual(MACHINE_STATES.filter((s) => !isMachineKnown(s)), ['deleted', 'failed']);
    for (const state of MACHINE_STATES) assert.equal(canTransition(state, state), false, `${state} -> ${state}`);
  });

  it('a machine is assigned only from provisioning, idle or an undrain', () => {
    assert.deepEqual(statesInto('assigned'), ['provisioning', 'idle', 'draining']);
    assert.deepEqual(statesInto('deleted'), ['deleting']);
  });
});

describe("drain, undrain and a lease's end", () => {
  const m = (state: MachineState, extra: { providerId?: string; leaseId?: string; host?: string } = {}) => ({ state, ...extra });

  it('drain: a busy machine is marked draining, a free one deleted now, others untouched', () => {
    assert.deepEqual(drainMove(m('assigned', { leaseId: 'l' })), { to: 'draining' });
    assert.deepEqual(drainMove(m('provisioning')), { to: 'draining' });
    assert.deepEqual(drainMove(m('scrubbing')), { to: 'draining' });
    assert.deepEqual(drainMove(m('idle')), { to: 'deleting' });
    for (const state of ['draining', 'deleting', 'deleted', 'failed'] as const) assert.deepEqual(drainMove(m(state)), { to: undefined, reason: `already ${state}` });
  });

  it('undrain returns a machine to what it was doing', () => {
    assert.deepEqual(undrainMove(m('draining', { leaseId: 'l', host: 'h' })), { to: 'assigned' });
    assert.deepEqual(undrainMove(m('draining', { leaseId: 'l' })), { to: 'provisioning' });
    assert.deepEqual(undrainMove(m('draining', { host: 'h' })), { to: 'idle' });
    assert.deepEqual(undrainMove(m('deleting')), { to: undefined, reason: 'already deleting' });
    assert.deepEqual(undrainMove(m('assigned')), { to: undefined, reason: 'not draining' });
  });

  it('a per-lease machine is deleted when its lease ends, or failed when its create left nothing', () => {
    for (const state of ['assigned', 'draining', 'provisioning'] as const) assert.deepEqual(afterLeaseEnds(m(state, { providerId: 'p', host: 'h' }), { createRunning: true }), { to: 'deleting' });
    assert.deepEqual(afterLeaseEnds(m('provisioning', { providerId: 'p' }), { createRunning: true }), { to: 'deleting' }, 'the provider knows it: delete now');
    assert.deepEqual(afterLeaseEnds(m('provisioning'), { createRunning: true }), { to: undefined, reason: 'create still running' });
    assert.deepEqual(afterLeaseEnds(m('provisioning'), { createRunning: false }), { to: 'failed' });
    assert.deepEqual(afterLeaseEnds(m('draining'), { createRunning: false }), { to: 'failed' });
    for (const state of ['deleting', 'deleted', 'failed'] as const) assert.equal(afterLeaseEnds(m(state, { providerId: 'p' }), { createRunning: false }).to, undefined);
    for (const state of MACHINE_STATES) {
      const move = afterLeaseEnds(m(state, { providerId: 'p', host: 'h' }), { createRunning: false });
      if (move.to) assert.ok(canTransition(state, move.to), `${state} -> ${move.to} must be an allowed move`);
    }
  });
});
