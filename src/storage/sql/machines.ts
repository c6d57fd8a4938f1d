import { canTransition, type MachineState } from '../../domain/machine.ts';
import type { Page } from '../ports/page.ts';
import type { DeletionOutcome, MachineDetails, MachineQuery, MachineRecord, MachineStore, MachineTransitionOptions, NewMachine } from '../ports/machines.ts';
import type { SqlDriver, SqlValue } from './driver.ts';
import { machineFromRow } from './rows.ts';
import { afterCursor, keysetPage, orNull, pageSize, placeholders, Where } from './query.ts';

/** MachineStore in SQL: every state change is one conditional UPDATE returning the row it changed. */
export class SqlMachineStore implements MachineStore {
  readonly #db: SqlDriver;

  constructor(driver: SqlDriver) {
    this.#db = driver;
  }

  async #machine(id: string): Promise<MachineRecord | undefined> {
    const [row] = await this.#db.query('SELECT * FROM machines WHERE id = ?', [id]);
    return row ? machineFromRow(row) : undefined;
  }

  /** One conditional write that returns the row it changed (`sql` has no RETURNING of its own); undefined when none matched. */
  async #changed(sql: string, params: SqlValue[]): Promise<MachineRecord | undefined> {
    const [row] = await this.#db.write(`${sql} RETURNING *`, params);
    return row ? machineFromRow(row) : undefined;
  }

  async createMachine(m: NewMachine): Promise<MachineRecord> {
    return (await this.#changed(
      `INSERT INTO machines (id, provider, machine_class, machine_type, labels, state, pool, lease_id, created_at, state_changed_at, hourly_price, reserved_cost, token)
       VALUES (?, ?, ?, ?, ?, 'provisioning', ?, ?, ?, ?, ?, ?, ?)`,
      [
        m.id, m.provider, orNull(m.class), orNull(m.type), JSON.stringify(m.labels ?? {}), orNull(m.pool), orNull(m.leaseId), m.createdAt, m.createdAt,
        m.hourlyPrice ?? 0, m.reservedCost ?? 0, orNull(m.token),
      ],
    ))!;
  }

  async setMachineProviderId(id: string, providerId: string): Promise<void> {
    await this.#db.write("UPDATE machines SET provider_id = ? WHERE id = ? AND state IN ('provisioning', 'draining') AND host IS NULL RETURNING id", [providerId, id]);
  }

  machineReady(id: string, d: MachineDetails, now: number): Promise<MachineRecord | undefined> {
    return this.#changed(
      `UPDATE machines SET provider_id = ?, host = ?, ports = ?, admin_user = ?, work_root = ?, host_key = ?, transport = ?,
         machine_type = COALESCE(?, machine_type), region = COALESCE(?, region),
         state = CASE WHEN state = 'provisioning' THEN (CASE WHEN lease_id IS NULL THEN 'idle' ELSE 'assigned' END) ELSE state END,
         state_changed_at = CASE WHEN state = 'provisioning' THEN ? ELSE state_changed_at END,
         assignments = assignments + CASE WHEN lease_id IS NULL THEN 0 ELSE 1 END,
         last_assigned_at = CASE WHEN lease_id IS NULL THEN last_assigned_at ELSE ? END
       WHERE id = ? AND state IN ('provisioning', 'draining') AND host IS NULL`,
      [d.providerId, d.host, JSON.stringify(d.ports), d.adminUser, d.workRoot, d.hostKey, d.transport && d.transport.kind !== 'direct' ? JSON.stringify(d.transport) : null, orNull(d.type), orNull(d.region), now, now, id],
    );
  }

  async transitionMachine(id: string, from: readonly MachineState[], to: MachineState, o: MachineTransitionOptions): Promise<MachineRecord | undefined> {
    const bad = from.filter((f) => !canTransition(f, to));
    if (bad.length > 0) throw new Error(`machine ${id}: ${bad.join(', ')} -> ${to} is not an allowed move`);
    if (from.length === 0) return undefined;
    const setLease = o.leaseId !== undefined;
    const assigns = to === 'assigned' && typeof o.leaseId === 'string';
    return this.#changed(
      `UPDATE machines SET state = ?, state_reason = ?, state_changed_at = ?,
         lease_id = CASE WHEN ? = 1 THEN ? ELSE lease_id END,
         assignments = assignments + ?, last_assigned_at = CASE WHEN ? = 1 THEN ? ELSE last_assigned_at END,
         delete_next_at = CASE WHEN ? = 'deleting' THEN ? ELSE delete_next_at END
       WHERE id = ? AND state IN (${placeholders(from)})`,
      [
        to, orNull(o.reason), o.now, setLease ? 1 : 0, o.leaseId ?? null, assigns ? 1 : 0, assigns ? 1 : 0, o.now, to, o.deleteAt ?? o.now,
        id, ...from,
      ],
    );
  }

  getMachine(id: string): Promise<MachineRecord | undefined> {
    return this.#machine(id);
  }

  async getMachineByProviderId(provider: string, providerId: string): Promise<MachineRecord | undefined> {
    const [row] = await this.#db.query('SELECT * FROM machines WHERE provider = ? AND provider_id = ? ORDER BY created_at DESC LIMIT 1', [provider, providerId]);
    return row ? machineFromRow(row) : undefined;
  }

  async listMachines(q: MachineQuery): Promise<Page<MachineRecord>> {
    const limit = pageSize(q.limit);
    const where = new Where();
    if (q.states?.length) where.add(`state IN (${placeholders(q.states)})`, ...q.states);
    if (q.pool !== undefined) where.add('pool = ?', q.pool);
    if (q.provider !== undefined) where.add('provider = ?', q.provider);
    if (q.leaseId !== undefined) where.add('lease_id = ?', q.leaseId);
    afterCursor(where, q.cursor);
    const rows = await this.#db.query(`SELECT * FROM machines${where} ORDER BY created_at DESC, id DESC LIMIT ?`, [...where.params, limit + 1]);
    return keysetPage(rows.map(machineFromRow), limit);
  }

  async machinesStuckIn(state: MachineState, before: number, limit: number): Promise<MachineRecord[]> {
    const rows = await this.#db.query('SELECT * FROM machines WHERE state = ? AND state_changed_at < ? ORDER BY state_changed_at LIMIT ?', [state, before, limit]);
    return rows.map(machineFromRow);
  }

  async deletionQueue(now: number, limit: number): Promise<MachineRecord[]> {
    const rows = await this.#db.query("SELECT * FROM machines WHERE state = 'deleting' AND delete_next_at <= ? ORDER BY delete_next_at LIMIT ?", [now, limit]);
    return rows.map(machineFromRow);
  }

  async claimDeletion(id: string, now: number, until: number): Promise<boolean> {
    const changed = await this.#db.exec("UPDATE machines SET delete_next_at = ? WHERE id = ? AND state = 'deleting' AND delete_next_at <= ?", [until, id, now]);
    return changed === 1;
  }

  recordDeletionAttempt(id: string, outcome: DeletionOutcome): Promise<MachineRecord | undefined> {
    return outcome.ok
      ? this.#changed(
          `UPDATE machines SET state = 'deleted', state_changed_at = ?, deleted_at = ?, delete_attempts = delete_attempts + 1, delete_next_at = NULL,
             delete_last_error = NULL WHERE id = ? AND state = 'deleting'`,
          [outcome.at, outcome.at, id],
        )
      : this.#changed(
          "UPDATE machines SET delete_attempts = delete_attempts + 1, delete_next_at = ?, delete_last_error = ? WHERE id = ? AND state = 'deleting'",
          [outcome.nextAt, outcome.error.slice(0, 500), id],
        );
  }

  async claimIdleMachine(pool: string, leaseId: string, now: number): Promise<MachineRecord | undefined> {
    // One statement: the candidate is picked and moved together, and `state = 'idle'` is checked again on the row
    // itself, so two claims never get one machine. PostgreSQL skips rows another claim holds instead of waiting.
    const lock = this.#db.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
    const rows = await this.#db.query(
      `UPDATE machines SET state = 'assigned', state_reason = 'claimed', state_changed_at = ?, lease_id = ?, assignments = assignments + 1, last_assigned_at = ?
       WHERE id = (SELECT id FROM machines WHERE pool = ? AND state = 'idle' ORDER BY created_at, id LIMIT 1${lock}) AND state = 'idle'
       RETURNING id`,
      [now, leaseId, now, pool],
    );
    const id = rows[0]?.id;
    return id === undefined ? undefined : this.#machine(String(id));
  }

  async poolMachines(pool: string): Promise<MachineRecord[]> {
    const rows = await this.#db.query("SELECT * FROM machines WHERE pool = ? AND state NOT IN ('deleted', 'failed') ORDER BY created_at, id LIMIT 2000", [pool]);
    return rows.map(machineFromRow);
  }

  async machineReservedSpend(scope: { from: number; to: number; pool?: string | undefined }): Promise<number> {
    // A failed machine never existed at the provider: it reserved nothing.
    const where = new Where().add("pool IS NOT NULL AND state <> 'failed'").add("((created_at >= ? AND created_at < ?) OR (created_at < ? AND state <> 'deleted'))", scope.from, scope.to, scope.from);
    if (scope.pool !== undefined) where.add('pool = ?', scope.pool);
    const [row] = await this.#db.query(`SELECT COALESCE(SUM(reserved_cost), 0) AS total FROM machines${where}`, where.params);
    return Number(row?.total ?? 0);
  }

  /** Machines gone before `olderThan` that no remaining lease points at. Run after the leases are pruned. */
  prune(olderThan: number): Promise<number> {
    return this.#db.exec(
      `DELETE FROM machines WHERE state IN ('deleted', 'failed') AND state_changed_at < ?
         AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.machine_id = machines.id)`,
      [olderThan],
    );
  }
}
