import type { MachineView } from '../../api/schemas.ts';
import type { MachineRecord } from '../../storage/store.ts';
import { isoTime } from '../iso.ts';

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : isoTime(ms));

/** A machine as the admin API shows it: where it is and what it is doing, not its host key or labels. */
export function machineView(m: MachineRecord, now: number): MachineView {
  return {
    id: m.id, provider: m.provider, providerId: m.providerId, class: m.class, type: m.type, region: m.region, host: m.host, ports: m.ports,
    state: m.state, stateReason: m.stateReason, pool: m.pool, leaseId: m.leaseId, createdAt: iso(m.createdAt)!, stateChangedAt: iso(m.stateChangedAt)!,
    ageSeconds: Math.max(0, Math.floor((now - m.createdAt) / 1000)), lastAssignedAt: iso(m.lastAssignedAt), assignments: m.assignments,
    deletion: { attempts: m.deletion.attempts, nextAt: iso(m.deletion.nextAt), lastError: m.deletion.lastError, deletedAt: iso(m.deletion.deletedAt) },
  };
}
