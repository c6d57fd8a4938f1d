import { DEFAULT_PAGE, MAX_PAGE, type OwnerScope, type Page } from '../ports/page.ts';
import type { SqlValue } from './driver.ts';
import { decodeCursor, encodeCursor } from './rows.ts';

/** Small helpers every SQL store class shares. */

export const pageSize = (limit: number | undefined): number => Math.min(Math.max(Math.floor(limit ?? DEFAULT_PAGE), 1), MAX_PAGE);
export const orNull = (v: string | number | undefined | null): SqlValue => (v === undefined ? null : v);
export const placeholders = (values: readonly unknown[]): string => values.map(() => '?').join(', ');

/** Builds `WHERE a AND b` from optional conditions. */
export class Where {
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

/** `owner = ? AND org = ?` for the given scope; `prefix` names the table when a query joins (`l.`). */
export function scopeWhere(scope: OwnerScope, where = new Where(), prefix = ''): Where {
  if (scope.owner !== undefined) where.add(`${prefix}owner = ?`, scope.owner);
  if (scope.org !== undefined) where.add(`${prefix}org = ?`, scope.org);
  return where;
}

/** Newest-first keyset pagination over (created_at, id). */
export function keysetPage<T extends { createdAt: number; id: string }>(rows: T[], limit: number): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.createdAt, last.id]) : undefined };
}

export function afterCursor(where: Where, cursor: string | undefined, prefix = ''): void {
  if (!cursor) return;
  const [createdAt, id] = decodeCursor(cursor, ['number', 'string']) as [number, string];
  where.add(`(${prefix}created_at < ? OR (${prefix}created_at = ? AND ${prefix}id < ?))`, createdAt, createdAt, id);
}
