/**
 * A machine apart from its lease: what the provider made, and where it is in its own life. A lease is an assignment
 * of one machine; in the cold path (today's only one) each lease gets a machine of its own, which is deleted when the
 * lease ends. Pool machines (issue 14's warm pool) go back to `idle` through `scrubbing` instead.
 *
 *   provisioning ──▶ assigned ──▶ scrubbing ──▶ idle ──▶ assigned ...
 *        │  └──────▶ idle           │             │
 *        │              any live state ──▶ draining ──▶ deleting ──▶ deleted
 *        └──▶ failed (nothing made)  (assigned, idle, scrubbing, provisioning) ──▶ deleting
 */

export const MACHINE_STATES = ['provisioning', 'idle', 'assigned', 'scrubbing', 'draining', 'deleting', 'deleted', 'failed'] as const;
export type MachineState = (typeof MACHINE_STATES)[number];

/**
 * Every allowed move. `failed` is a create that left nothing at the provider (no provider id); a machine the provider
 * knows goes through `deleting` instead. `draining` returns to where it came from on undrain.
 */
export const MACHINE_TRANSITIONS: { readonly [S in MachineState]: readonly MachineState[] } = {
  provisioning: ['idle', 'assigned', 'draining', 'deleting', 'failed'],
  idle: ['assigned', 'draining', 'deleting'],
  assigned: ['scrubbing', 'draining', 'deleting'],
  scrubbing: ['idle', 'draining', 'deleting'],
  draining: ['provisioning', 'idle', 'assigned', 'deleting', 'failed'],
  deleting: ['deleted'],
  deleted: [],
  failed: [],
};

export function canTransition(from: MachineState, to: MachineState): boolean {
  return MACHINE_TRANSITIONS[from].includes(to);
}

/** The states from which a move to `to` is allowed (what a conditional update may start from). */
export function statesInto(to: MachineState): MachineState[] {
  return MACHINE_STATES.filter((from) => canTransition(from, to));
}

/** Nothing more happens to the machine: it is gone (deleted) or never existed at the provider (failed). */
export function isMachineTerminal(state: MachineState): boolean {
  return state === 'deleted' || state === 'failed';
}

/** The machine may exist at the provider and the store answers for it: the orphan sweep leaves it alone. */
export function isMachineKnown(state: MachineState): boolean {
  return !isMachineTerminal(state);
}

/** What the drain and lease-end rules need to know about a machine. */
export interface MachineFacts {
  state: MachineState;
  providerId?: string | undefined;
  leaseId?: string | undefined;
  /** Recorded once the provider reported where the machine is. */
  host?: string | undefined;
}

export type MachineMove = { to: MachineState } | { to: undefined; reason: string };

/**
 * Admin drain: no new assignment, deleted once free. A machine with a lease (or one still being made, or scrubbed)
 * is marked `draining` and deleted when that ends; a free machine is deleted now. Draining again is a no-op.
 */
export function drainMove(m: MachineFacts): MachineMove {
  switch (m.state) {
    case 'idle':
      return { to: 'deleting' };
    case 'provisioning':
    case 'assigned':
    case 'scrubbing':
      return { to: 'draining' };
    default:
      return { to: undefined, reason: `already ${m.state}` };
  }
}

/** Undrain: back to what the machine was doing; a machine already being deleted stays deleted. */
export function undrainMove(m: MachineFacts): MachineMove {
  if (m.state !== 'draining') return { to: undefined, reason: m.state === 'deleting' || isMachineTerminal(m.state) ? `already ${m.state}` : 'not draining' };
  if (m.leaseId) return { to: m.host ? 'assigned' : 'provisioning' };
  return { to: m.host ? 'idle' : 'provisioning' };
}

/**
 * What happens to a machine when its lease ends: a pool machine the pool may reuse (`reuse`) goes to `scrubbing`;
 * otherwise it is deleted if the provider knows it. A machine whose create
 * is still running with no provider id yet stays `provisioning`: the create deletes it when it returns (it finds the
 * lease ended), and the sweep fails it if the create never returns. A finished create with no provider id left
 * nothing behind: `failed`.
 */
export function afterLeaseEnds(m: MachineFacts, options: { createRunning: boolean; reuse?: boolean | undefined }): MachineMove {
  if (isMachineTerminal(m.state) || m.state === 'deleting') return { to: undefined, reason: `already ${m.state}` };
  // A warm pool machine the pool may reuse is scrubbed and checked, then goes back to idle (src/coordinator/pool/).
  if (m.providerId && options.reuse && m.state === 'assigned') return { to: 'scrubbing' };
  if (m.providerId) return { to: 'deleting' };
  if (!m.host && options.createRunning) return { to: undefined, reason: 'create still running' };
  return { to: 'failed' };
}
