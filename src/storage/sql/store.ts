import type { LeaseState, MachineRef } from '../../domain/lease.ts';
import { DEFAULT_PAGE, MAX_PAGE } from '../store.ts';
import type {
  CleanupOutcome, EventQuery, FleetEvent, FleetStore, LeaseQuery, LeaseRecord, LoginLimits, LoginPatch, LoginRecord, LoginStatus,
  NewEvent, NewLease, NewLogin, NewRun, OwnerScope,
  Page, PruneResult, RunFinish, RunQuery, RunRecord, TouchUpdate, TransitionOptions, UsageRow,
} from '../store.ts';
import type { SqlDriver, SqlRow, SqlValue } from './driver.ts';
import { decodeCursor, encodeCursor, eventFromRow, leaseFromRow, loginFromRow, runFromRow } from './rows.ts';
import { loadMigrations, migrate, type Migration } from './migrations.ts';

/** Expired logins are kept this long so a late callback or poll is told "expired" rather than "unknown". */
const LOGIN_GRACE_MS = 60 * 60 * 1000;
const LIVE = "('provisioning', 'active')";
const pageSize = (limit: number | undefined): number => Math.min(Math.max(Math.floor(limit ?? DEFAULT_PAGE), 1), MAX_PAGE);
const orNull = (v: string | number | undefined): SqlValue => (v === undefined ? null : v);

/** Builds `WHERE a AND b` from optional conditions. */
class Where {
  readonly parts: string[] = [];
  readonly params: SqlValue[] = [];
  add(sql: string, ...params: SqlValue[]): this {
    this.parts.push(sql);
    this.params.push(...params);
    return this;
  }
  toString(): string {
    return this.parts.length ? ` WHERE ${this.parts.join(' AND ')}` : '';
  }
}

function scopeWhere(scope: OwnerScope, where = new Where()): Where {
  if (scope.owner !== undefined) where.add('owner = ?', scope.owner);
  if (scope.org !== undefined) where.add('org = ?', scope.org);
  return where;
}

/** Newest-first keyset pagination over (created_at, id). */
function keysetPage<T extends { createdAt: number; id: string }>(rows: T[], limit: number): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.createdAt, last.id]) : undefined };
}

function afterCursor(where: Where, cursor: string | undefined): void {
  if (!cursor) return;
  const [createdAt, id] = decodeCursor(cursor, ['number', 'string']) as [number, string];
  where.add('(created_at < ? OR (created_at = ? AND id < ?))', createdAt, createdAt, id);
}

/** The one SQL implementation of FleetStore; the driver supplies the dialect details. */
export class SqlFleetStore implements FleetStore {
  readonly #db: SqlDriver;

  constructor(options: { driver: SqlDriver }) {
    this.#db = options.driver;
  }

  /** Opens a store and brings its schema up to date. */
  static async open(options: { driver: SqlDriver; now: number; migrations?: Migration[] }): Promise<SqlFleetStore> {
    await migrate(options.driver, options.migrations ?? loadMigrations(), options.now);
    return new SqlFleetStore({ driver: options.driver });
  }

  withTransaction<T>(fn: (tx: FleetStore) => Promise<T>): Promise<T> {
    return this.#db.transaction((tx) => fn(tx === this.#db ? this : new SqlFleetStore({ driver: tx })));
  }

  async #lease(id: string): Promise<LeaseRecord | undefined> {
    const [row] = await this.#db.query('SELECT * FROM leases WHERE id = ?', [id]);
    return row ? leaseFromRow(row) : undefined;
  }

  createLease(lease: NewLease): Promise<{ lease: LeaseRecord; created: boolean }> {
    return this.withTransaction(async (tx) => {
      const db = (tx as SqlFleetStore).#db;
      const [existing] = await db.query('SELECT * FROM leases WHERE owner = ? AND idempotency_key = ?', [lease.owner, lease.idempotencyKey]);
      if (existing) return { lease: leaseFromRow(existing), created: false };
      await db.exec(
        `INSERT INTO leases (id, slug, owner, org, provider, profile, machine_class, machine_type, state, keep, ttl_seconds,
           idle_timeout_seconds, created_at, last_touched_at, expires_at, idempotency_key, hourly_price, reserved_cost)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'provisioning', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          lease.id, lease.slug, lease.owner, lease.org, lease.provider, orNull(lease.profile), orNull(lease.class), orNull(lease.type),
          lease.keep ? 1 : 0, lease.ttlSeconds, lease.idleTimeoutSeconds, lease.createdAt, lease.createdAt, lease.expiresAt,
          lease.idempotencyKey, lease.hourlyPrice, lease.reservedCost,
        ],
      );
      return { lease: (await (tx as SqlFleetStore).#lease(lease.id))!, created: true };
    });
  }

  async setProviderId(id: string, providerId: string): Promise<void> {
    await this.#db.exec('UPDATE leases SET provider_id = ? WHERE id = ?', [providerId, id]);
  }

  async activateLease(id: string, m: MachineRef): Promise<LeaseRecord | undefined> {
    const changed = await this.#db.exec(
      `UPDATE leases SET state = 'active', provider_id = ?, host = ?, ports = ?, ssh_user = ?, work_root = ?, host_key = ?,
         machine_type = COALESCE(?, machine_type), region = ? WHERE id = ? AND state = 'provisioning'`,
      [m.providerId, m.host, JSON.stringify(m.ports), m.sshUser, m.workRoot, m.hostKey, orNull(m.type), orNull(m.region), id],
    );
    return changed ? this.#lease(id) : undefined;
  }

  async touchLease(id: string, u: TouchUpdate): Promise<LeaseRecord | undefined> {
    const changed = await this.#db.exec(
      `UPDATE leases SET last_touched_at = ?, idle_timeout_seconds = ?, expires_at = ?,
         heartbeat_logged_at = COALESCE(?, heartbeat_logged_at) WHERE id = ? AND state IN ${LIVE}`,
      [u.lastTouchedAt, u.idleTimeoutSeconds, u.expiresAt, orNull(u.heartbeatLoggedAt), id],
    );
    return changed ? this.#lease(id) : undefined;
  }

  async transitionLease(id: string, from: LeaseState[], to: LeaseState, o: TransitionOptions): Promise<LeaseRecord | undefined> {
    if (from.length === 0) return undefined;
    const terminal = to !== 'provisioning' && to !== 'active';
    const changed = await this.#db.exec(
      `UPDATE leases SET state = ?, ended_at = CASE WHEN ? = 1 THEN ? ELSE ended_at END, end_reason = COALESCE(?, end_reason),
         cleanup_state = CASE WHEN ? = 1 AND provider_id IS NOT NULL AND cleanup_state = 'none' THEN 'pending' ELSE cleanup_state END,
         cleanup_next_at = CASE WHEN ? = 1 AND provider_id IS NOT NULL AND cleanup_state = 'none' THEN ? ELSE cleanup_next_at END
       WHERE id = ? AND state IN (${from.map(() => '?').join(', ')})`,
      [to, terminal ? 1 : 0, o.now, orNull(o.reason), o.queueCleanup ? 1 : 0, o.queueCleanup ? 1 : 0, o.now, id, ...from],
    );
    return changed ? this.#lease(id) : undefined;
  }

  async queueCleanup(id: string, now: number): Promise<void> {
    await this.#db.exec(
      "UPDATE leases SET cleanup_state = 'pending', cleanup_next_at = ? WHERE id = ? AND provider_id IS NOT NULL AND cleanup_state = 'none'",
      [now, id],
    );
  }

  async setKeep(id: string, keep: boolean, expiresAt: number): Promise<LeaseRecord | undefined> {
    const changed = await this.#db.exec(`UPDATE leases SET keep = ?, expires_at = ? WHERE id = ? AND state IN ${LIVE}`, [keep ? 1 : 0, expiresAt, id]);
    return changed ? this.#lease(id) : undefined;
  }

  getLease(id: string): Promise<LeaseRecord | undefined> {
    return this.#lease(id);
  }

  async getLeaseByProviderId(provider: string, providerId: string): Promise<LeaseRecord | undefined> {
    const [row] = await this.#db.query('SELECT * FROM leases WHERE provider = ? AND provider_id = ? ORDER BY created_at DESC LIMIT 1', [provider, providerId]);
    return row ? leaseFromRow(row) : undefined;
  }

  async getLeaseBySlug(slug: string, owner?: string): Promise<LeaseRecord | undefined> {
    const where = new Where().add('slug = ?', slug);
    if (owner !== undefined) where.add('owner = ?', owner);
    const [row] = await this.#db.query(
      `SELECT * FROM leases${where} ORDER BY CASE WHEN state IN ${LIVE} THEN 0 ELSE 1 END, created_at DESC, id DESC LIMIT 1`,
      where.params,
    );
    return row ? leaseFromRow(row) : undefined;
  }

  async listLeases(q: LeaseQuery): Promise<Page<LeaseRecord>> {
    const limit = pageSize(q.limit);
    const where = scopeWhere({ owner: q.owner });
    if (q.states?.length) where.add(`state IN (${q.states.map(() => '?').join(', ')})`, ...q.states);
    afterCursor(where, q.cursor);
    const rows = await this.#db.query(`SELECT * FROM leases${where} ORDER BY created_at DESC, id DESC LIMIT ?`, [...where.params, limit + 1]);
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
    const rows = await this.#db.query(`SELECT * FROM leases WHERE state IN ${LIVE} AND expires_at <= ? ORDER BY expires_at LIMIT ?`, [now, limit]);
    return rows.map(leaseFromRow);
  }

  async staleProvisioning(before: number, limit: number): Promise<LeaseRecord[]> {
    const rows = await this.#db.query("SELECT * FROM leases WHERE state = 'provisioning' AND created_at < ? ORDER BY created_at LIMIT ?", [before, limit]);
    return rows.map(leaseFromRow);
  }

  async cleanupQueue(now: number, limit: number): Promise<LeaseRecord[]> {
    const rows = await this.#db.query("SELECT * FROM leases WHERE cleanup_state = 'pending' AND cleanup_next_at <= ? ORDER BY cleanup_next_at LIMIT ?", [now, limit]);
    return rows.map(leaseFromRow);
  }

  async claimCleanup(id: string, now: number, until: number): Promise<boolean> {
    const changed = await this.#db.exec("UPDATE leases SET cleanup_next_at = ? WHERE id = ? AND cleanup_state = 'pending' AND cleanup_next_at <= ?", [until, id, now]);
    return changed === 1;
  }

  async recordCleanupAttempt(id: string, outcome: CleanupOutcome): Promise<LeaseRecord | undefined> {
    const changed = outcome.ok
      ? await this.#db.exec(
          "UPDATE leases SET cleanup_state = 'done', cleanup_attempts = cleanup_attempts + 1, cleanup_next_at = NULL, cleanup_last_error = NULL, machine_deleted_at = ? WHERE id = ? AND cleanup_state = 'pending'",
          [outcome.at, id],
        )
      : await this.#db.exec(
          "UPDATE leases SET cleanup_attempts = cleanup_attempts + 1, cleanup_next_at = ?, cleanup_last_error = ? WHERE id = ? AND cleanup_state = 'pending'",
          [outcome.nextAt, outcome.error.slice(0, 500), id],
        );
    return changed ? this.#lease(id) : undefined;
  }

  async nextDueAt(): Promise<number | undefined> {
    const [row] = await this.#db.query(
      `SELECT MIN(t) AS t FROM (SELECT MIN(expires_at) AS t FROM leases WHERE state IN ${LIVE}
         UNION ALL SELECT MIN(cleanup_next_at) AS t FROM leases WHERE cleanup_state = 'pending') due`,
    );
    return row?.t === null || row?.t === undefined ? undefined : Number(row.t);
  }

  async createRun(run: NewRun): Promise<RunRecord> {
    await this.#db.exec("INSERT INTO runs (id, lease_id, slug, provider, owner, org, command, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?)", [
      run.id, run.leaseId, orNull(run.slug), orNull(run.provider), run.owner, run.org, orNull(run.command), run.createdAt,
    ]);
    return (await this.getRun(run.id))!;
  }

  async finishRun(id: string, f: RunFinish): Promise<RunRecord | undefined> {
    const changed = await this.#db.exec(
      `UPDATE runs SET state = ?, exit_code = ?, source = ?, interrupted = ?, remote_exit_code = ?, sync_skipped = ?, ended_at = ?, timings = ?,
         log_tail = ?, log_truncated = ?, junit = ? WHERE id = ? AND state = 'running'`,
      [
        f.state ?? (f.exitCode === 0 ? 'succeeded' : 'failed'), f.exitCode, orNull(f.source), orNull(f.interrupted), orNull(f.remoteExitCode),
        f.syncSkipped === undefined ? null : f.syncSkipped ? 1 : 0, f.endedAt, f.timings ? JSON.stringify(f.timings) : null, orNull(f.logTail),
        f.logTruncated ? 1 : 0, f.junit ? JSON.stringify(f.junit) : null, id,
      ],
    );
    return changed ? this.getRun(id) : undefined;
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const [row] = await this.#db.query('SELECT * FROM runs WHERE id = ?', [id]);
    return row ? runFromRow(row) : undefined;
  }

  async listRuns(q: RunQuery): Promise<Page<RunRecord>> {
    const limit = pageSize(q.limit);
    const where = scopeWhere(q);
    if (q.leaseId !== undefined) where.add('lease_id = ?', q.leaseId);
    if (q.state !== undefined) where.add('state = ?', q.state);
    afterCursor(where, q.cursor);
    // Lists leave the log tail out; GET /runs/:id/logs reads it.
    const rows = await this.#db.query(
      `SELECT id, lease_id, slug, provider, owner, org, command, state, exit_code, source, interrupted, remote_exit_code, sync_skipped,
         created_at, ended_at, timings, NULL AS log_tail, log_truncated, junit
       FROM runs${where} ORDER BY created_at DESC, id DESC LIMIT ?`,
      [...where.params, limit + 1],
    );
    return keysetPage(rows.map(runFromRow), limit);
  }

  appendEvent(event: NewEvent): Promise<FleetEvent> {
    return this.withTransaction(async (tx) => {
      const db = (tx as SqlFleetStore).#db;
      const [counter] = await db.query("UPDATE counters SET value = value + 1 WHERE name = 'events' RETURNING value");
      const seq = Number(counter!.value);
      await db.exec('INSERT INTO events (seq, at, type, actor, owner, org, lease_id, run_id, provider_id, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', [
        seq, event.at, event.type, event.actor, orNull(event.owner), orNull(event.org), orNull(event.leaseId), orNull(event.runId),
        orNull(event.providerId), event.data ? JSON.stringify(event.data) : null,
      ]);
      return { ...event, seq };
    });
  }

  async listEvents(q: EventQuery): Promise<Page<FleetEvent>> {
    const limit = pageSize(q.limit);
    const where = scopeWhere({ owner: q.owner });
    if (q.leaseId !== undefined) where.add('lease_id = ?', q.leaseId);
    if (q.type !== undefined) where.add('type = ?', q.type);
    if (q.cursor) where.add('seq < ?', decodeCursor(q.cursor, ['number'])[0]!);
    const rows = await this.#db.query(`SELECT * FROM events${where} ORDER BY seq DESC LIMIT ?`, [...where.params, limit + 1]);
    const items = rows.slice(0, limit).map(eventFromRow);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.seq]) : undefined };
  }

  prune(olderThan: number): Promise<PruneResult> {
    return this.withTransaction(async (tx) => {
      const db = (tx as SqlFleetStore).#db;
      const runs = await db.exec('DELETE FROM runs WHERE created_at < ?', [olderThan]);
      const events = await db.exec('DELETE FROM events WHERE at < ?', [olderThan]);
      const leases = await db.exec(`DELETE FROM leases WHERE state NOT IN ${LIVE} AND ended_at < ? AND cleanup_state <> 'pending'`, [olderThan]);
      return { runs, events, leases };
    });
  }

  createLogin(login: NewLogin, limits: LoginLimits): Promise<'created' | 'too-many' | 'too-many-from-source'> {
    return this.#db.transaction(async (db) => {
      await db.exec('DELETE FROM logins WHERE expires_at < ?', [limits.now - LOGIN_GRACE_MS]);
      const count = async (sql: string, params: SqlValue[]) => Number((await db.query(sql, params))[0]?.n ?? 0);
      // Every unexpired login counts, finished or not: finishing one (even as denied) must not free a slot early.
      const live = 'expires_at > ?';
      if ((await count(`SELECT COUNT(*) AS n FROM logins WHERE ${live}`, [limits.now])) >= limits.maxPending) return 'too-many';
      if ((await count(`SELECT COUNT(*) AS n FROM logins WHERE source = ? AND ${live}`, [login.source, limits.now])) >= limits.maxPendingPerSource) return 'too-many-from-source';
      await db.exec(
        "INSERT INTO logins (id, state_hash, secret_hash, source, address, phrase, port, status, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
        [login.id, login.stateHash, login.secretHash, login.source, orNull(login.address), orNull(login.phrase), orNull(login.port), login.createdAt, login.expiresAt],
      );
      return 'created';
    });
  }

  async getLogin(id: string): Promise<LoginRecord | undefined> {
    const [row] = await this.#db.query('SELECT * FROM logins WHERE id = ?', [id]);
    return row ? loginFromRow(row) : undefined;
  }

  async getLoginByState(stateHash: string): Promise<LoginRecord | undefined> {
    const [row] = await this.#db.query('SELECT * FROM logins WHERE state_hash = ?', [stateHash]);
    return row ? loginFromRow(row) : undefined;
  }

  confirmLogin(id: string, input: { browserHash: string; now: number }): Promise<LoginRecord | undefined> {
    return this.#db.transaction(async (db) => {
      const changed = await db.exec("UPDATE logins SET confirmed_at = ?, browser_hash = ? WHERE id = ? AND status = 'pending' AND confirmed_at IS NULL", [input.now, input.browserHash, id]);
      if (changed === 0) return undefined;
      const [row] = await db.query('SELECT * FROM logins WHERE id = ?', [id]);
      return row ? loginFromRow(row) : undefined;
    });
  }

  updateLogin(id: string, from: LoginStatus[], patch: LoginPatch): Promise<LoginRecord | undefined> {
    return this.#db.transaction(async (db) => {
      const changed = await db.exec(
        `UPDATE logins SET status = ?, owner = COALESCE(?, owner), org = COALESCE(?, org), login = COALESCE(?, login), message = COALESCE(?, message),
           code_hash = COALESCE(?, code_hash)
         WHERE id = ? AND status IN (${from.map(() => '?').join(', ')})`,
        [patch.status, orNull(patch.owner), orNull(patch.org), orNull(patch.login), orNull(patch.message), orNull(patch.codeHash), id, ...from],
      );
      if (changed === 0) return undefined;
      const [row] = await db.query('SELECT * FROM logins WHERE id = ?', [id]);
      return row ? loginFromRow(row) : undefined;
    });
  }

  async getMeta(name: string): Promise<string | undefined> {
    const [row] = await this.#db.query('SELECT value FROM meta WHERE name = ?', [name]);
    return row ? String(row.value) : undefined;
  }

  async setMeta(name: string, value: string): Promise<void> {
    await this.#db.exec('INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [name, value]);
  }

  async ping(): Promise<void> {
    await this.#db.query('SELECT 1 AS ok');
  }

  close(): Promise<void> {
    return this.#db.close();
  }
}
