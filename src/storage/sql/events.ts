import type { EventQuery, EventStore, FleetEvent, NewEvent } from '../ports/events.ts';
import type { Page } from '../ports/page.ts';
import type { SqlDriver } from './driver.ts';
import { decodeCursor, encodeCursor, eventFromRow } from './rows.ts';
import { orNull, pageSize, scopeWhere } from './query.ts';

/** EventStore in SQL: the sequence comes from a counter bumped in the appending transaction, so it is unique across replicas. */
export class SqlEventStore implements EventStore {
  readonly #db: SqlDriver;

  constructor(driver: SqlDriver) {
    this.#db = driver;
  }

  appendEvent(event: NewEvent): Promise<FleetEvent> {
    return this.#db.transaction(async (db) => {
      const [counter] = await db.query("UPDATE counters SET value = value + 1 WHERE name = 'events' RETURNING value");
      const seq = Number(counter!.value);
      // A write, not an exec: nothing needs the changed-row count (on Durable Object SQLite that is a statement of its own).
      await db.write('INSERT INTO events (seq, at, type, actor, owner, org, lease_id, run_id, machine_id, provider_id, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq', [
        seq, event.at, event.type, event.actor, orNull(event.owner), orNull(event.org), orNull(event.leaseId), orNull(event.runId),
        orNull(event.machineId), orNull(event.providerId), event.data ? JSON.stringify(event.data) : null,
      ]);
      return { ...event, seq };
    });
  }

  async listEvents(q: EventQuery): Promise<Page<FleetEvent>> {
    const limit = pageSize(q.limit);
    const where = scopeWhere({ owner: q.owner });
    if (q.leaseId !== undefined) where.add('lease_id = ?', q.leaseId);
    if (q.machineId !== undefined) where.add('machine_id = ?', q.machineId);
    if (q.type !== undefined) where.add('type = ?', q.type);
    if (q.since !== undefined) where.add('at >= ?', q.since);
    if (q.until !== undefined) where.add('at < ?', q.until);
    if (q.cursor) where.add('seq < ?', decodeCursor(q.cursor, ['number'])[0]!);
    const rows = await this.#db.query(`SELECT * FROM events${where} ORDER BY seq DESC LIMIT ?`, [...where.params, limit + 1]);
    const items = rows.slice(0, limit).map(eventFromRow);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.seq]) : undefined };
  }

  prune(olderThan: number): Promise<number> {
    return this.#db.exec('DELETE FROM events WHERE at < ?', [olderThan]);
  }
}
