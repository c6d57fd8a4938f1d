import type { LeaseState } from '../../domain/lease.ts';
import type { OwnerScope, Page } from '../ports/page.ts';
import type { LeaseAccess, LeaseQuery, LeaseRecord, LeaseStore, NewLease, TouchUpdate, TransitionOptions, UsageRow } from '../ports/leases.ts';
import type { SqlDriver, SqlRow } from './driver.ts';
import { leaseFromRow } from './rows.ts';
import { afterCursor, keysetPage, orNull, pageSize, placeholders, scopeWhere, Where } from './query.ts';

export const LIVE = "('provisioning', 'active')";

/** A lease with where its machine is: the machine's provider id, host, ports, host key and region beside the lease's columns. */
const LEASE_SELECT = `SELECT l.*, m.provider_id AS m_provider_id, m.host AS m_host, m.ports AS m_ports, m.host_key AS m_host_key,
  m.region AS m_region, m.machine_type AS m_machine_type, m.transport AS m_transport FROM leases l LEFT JOIN machines m ON m.id = l.machine_id`;

/** LeaseStore in SQL. Every state change is one conditional UPDATE; the changed lease is read back with its machine. */
export class SqlLeaseStore implements LeaseStore {
  readonly #db: SqlDriver;

  constructor(driver: SqlDriver) {
    this.#db = driver;
  }

  async #lease(id: string, db: SqlDriver = this.#db): Promise<LeaseRecord | undefined> {
    const [row] = await db.query(`${LEASE_SELECT} WHERE l.id = ?`, [id]);
    return row ? leaseFromRow(row) : undefined;
  }

  /** One conditional write, then the lease read back with its machine when it matched. RETURNING says whether it did in the same statement (a changed-row count is a second one on Durable Object SQLite). */
  async #changed(id: string, sql: string, params: (string | number | null)[]): Promise<LeaseRecord | undefined> {
    return (await this.#db.write(`${sql} RETURNING id`, params)).length > 0 ? this.#lease(id) : undefined;
  }

  createLease(lease: NewLease): Promise<{ lease: LeaseRecord; created: boolean }> {
    return this.#db.transaction(async (db) => {
      const [existing] = await db.query(`${LEASE_SELECT} WHERE l.owner = ? AND l.idempotency_key = ?`, [lease.owner, lease.idempotencyKey]);
      if (existing) return { lease: leaseFromRow(existing), created: false };
      await db.write(
        `INSERT INTO leases (id, slug, owner, org, provider, profile, machine_class, machine_type, state, keep, ttl_seconds,
           idle_timeout_seconds, created_at, last_touched_at, expires_at, idempotency_key, hourly_price, reserved_cost, machine_id, pool, sudo)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'provisioning', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
        [
          lease.id, lease.slug, lease.owner, lease.org, lease.provider, orNull(lease.profile), orNull(lease.class), orNull(lease.type),
          lease.keep ? 1 : 0, lease.ttlSeconds, lease.idleTimeoutSeconds, lease.createdAt, lease.createdAt, lease.expiresAt,
          lease.idempotencyKey, lease.hourlyPrice, lease.reservedCost, orNull(lease.machineId), orNull(lease.pool), lease.sudo ? 1 : 0,
        ],
      );
      return { lease: (await this.#lease(lease.id, db))!, created: true };
    });
  }

  activateLease(id: string, a: LeaseAccess): Promise<LeaseRecord | undefined> {
    return this.#changed(
      id,
      "UPDATE leases SET state = 'active', ssh_user = ?, work_root = ?, machine_type = COALESCE(?, machine_type) WHERE id = ? AND state = 'provisioning'",
      [a.sshUser, a.workRoot, orNull(a.type), id],
    );
  }

  touchLease(id: string, u: TouchUpdate): Promise<LeaseRecord | undefined> {
    return this.#changed(
      id,
      `UPDATE leases SET last_touched_at = ?, idle_timeout_seconds = ?, expires_at = ?,
         heartbeat_logged_at = COALESCE(?, heartbeat_logged_at) WHERE id = ? AND state IN ${LIVE}`,
      [u.lastTouchedAt, u.idleTimeoutSeconds, u.expiresAt, orNull(u.heartbeatLoggedAt), id],
    );
  }

  async transitionLease(id: string, from: readonly LeaseState[], to: LeaseState, o: TransitionOptions): Promise<LeaseRecord | undefined> {
    if (from.length === 0) return undefined;
    const terminal = to !== 'provisioning' && to !== 'active';
    return this.#changed(
      id,
      `UPDATE leases SET state = ?, ended_at = CASE WHEN ? = 1 THEN ? ELSE ended_at END, end_reason = COALESCE(?, end_reason),
         expires_at = COALESCE(?, expires_at)
       WHERE id = ? AND state IN (${placeholders(from)})`,
      [to, terminal ? 1 : 0, o.endedAt ?? o.now, orNull(o.reason), orNull(o.expiresAt), id, ...from],
    );
  }

  getLease(id: string): Promise<LeaseRecord | undefined> {
    return this.#lease(id);
  }

  async getLeaseBySlug(slug: string, owner?: string): Promise<LeaseRecord | undefined> {
    const where = new Where().add('l.slug = ?', slug);
    if (owner !== undefined) where.add('l.owner = ?', owner);
    const [row] = await this.#db.query(
      `${LEASE_SELECT}${where} ORDER BY CASE WHEN l.state IN ${LIVE} THEN 0 ELSE 1 END, l.created_at DESC, l.id DESC LIMIT 1`,
      where.params,
    );
    return row ? leaseFromRow(row) : undefined;
  }

  async listLeases(q: LeaseQuery): Promise<Page<LeaseRecord>> {
    const limit = pageSize(q.limit);
    const where = scopeWhere({ owner: q.owner }, new Where(), 'l.');
    // The live states literally: the partial live-lease indexes (migration 0005) then serve the list.
    const live = q.states?.length === 2 && q.states.includes('provisioning') && q.states.includes('active');
    if (live) where.add(`l.state IN ${LIVE}`);
    else if (q.states?.length) where.add(`l.state IN (${placeholders(q.states)})`, ...q.states);
    afterCursor(where, q.cursor, 'l.');
    const rows = await this.#db.query(`${LEASE_SELECT}${where} ORDER BY l.created_at DESC, l.id DESC LIMIT ?`, [...where.params, limit + 1]);
    return keysetPage(rows.map(leaseFromRow), limit);
  }

  async liveSlugs(owner: string): Promise<string[]> {
    const rows = await this.#db.query(`SELECT slug FROM leases WHERE owner = ? AND state IN ${LIVE}`, [owner]);
    return rows.map((r) => String(r.slug));
  }

  async countLiveLeases(scope: OwnerScope): Promise<number> {
    const where = scopeWhere(scope).add(`state IN ${LIVE}`);
    const [row] = await this.#db.query(`SELECT COUNT(*) AS n FROM leases${where}`, where.params);
    return Number(row?.n ?? 0);
  }

  async reservedSpend(scope: OwnerScope & { from: number; to: number }): Promise<number> {
    const where = scopeWhere(scope).add(`((created_at >= ? AND created_at < ?) OR (created_at < ? AND state IN ${LIVE}))`, scope.from, scope.to, scope.from);
    const [row] = await this.#db.query(`SELECT COALESCE(SUM(reserved_cost), 0) AS total FROM leases${where}`, where.params);
    return Number(row?.total ?? 0);
  }

  async usage(scope: OwnerScope & { from: number; to: number; now: number }): Promise<UsageRow[]> {
    const where = scopeWhere(scope).add(`((created_at >= ? AND created_at < ?) OR (created_at < ? AND (state IN ${LIVE} OR ended_at >= ?)))`, scope.from, scope.to, scope.from, scope.from);
    const rows = await this.#db.query(
      `SELECT owner, org, provider, COALESCE(machine_type, '') AS machine_type, COUNT(*) AS leases,
         SUM(reserved_cost) AS reserved, SUM(
           (CASE WHEN COALESCE(ended_at, ?) < ? THEN COALESCE(ended_at, ?) ELSE ? END)
           - (CASE WHEN created_at > ? THEN created_at ELSE ? END)) AS ms,
         SUM(hourly_price * ((CASE WHEN COALESCE(ended_at, ?) < ? THEN COALESCE(ended_at, ?) ELSE ? END)
           - (CASE WHEN created_at > ? THEN created_at ELSE ? END))) AS cost_ms
       FROM leases${where} GROUP BY owner, org, provider, COALESCE(machine_type, '') ORDER BY owner, org, provider, machine_type LIMIT 1000`,
      [scope.now, scope.to, scope.now, scope.to, scope.from, scope.from, scope.now, scope.to, scope.now, scope.to, scope.from, scope.from, ...where.params],
    );
    return rows.map((r: SqlRow) => ({
      owner: String(r.owner),
      org: String(r.org),
      provider: String(r.provider),
      type: String(r.machine_type),
      leases: Number(r.leases),
      reservedCost: Number(r.reserved),
      seconds: Math.max(0, Math.round(Number(r.ms) / 1000)),
      estimatedCost: Math.max(0, Number(r.cost_ms) / 3_600_000),
    }));
  }

  async leasesDueForExpiry(now: number, limit: number): Promise<LeaseRecord[]> {
    const rows = await this.#db.query(`${LEASE_SELECT} WHERE l.state IN ${LIVE} AND l.expires_at <= ? ORDER BY l.expires_at LIMIT ?`, [now, limit]);
    return rows.map(leaseFromRow);
  }

  async staleProvisioning(before: number, limit: number): Promise<LeaseRecord[]> {
    const rows = await this.#db.query(`${LEASE_SELECT} WHERE l.state IN ${LIVE} AND l.state = 'provisioning' AND l.created_at < ? ORDER BY l.created_at LIMIT ?`, [before, limit]);
    return rows.map(leaseFromRow);
  }

  async markEnvForwarded(id: string): Promise<void> {
    await this.#db.exec('UPDATE leases SET env_forwarded = 1 WHERE id = ? AND env_forwarded = 0', [id]);
  }

  /** Ended leases older than `olderThan` with no machine still being deleted (or otherwise alive) on their behalf. */
  prune(olderThan: number): Promise<number> {
    return this.#db.exec(
      `DELETE FROM leases WHERE state NOT IN ${LIVE} AND ended_at < ?
         AND NOT EXISTS (SELECT 1 FROM machines m WHERE m.lease_id = leases.id AND m.state NOT IN ('deleted', 'failed'))`,
      [olderThan],
    );
  }
}
