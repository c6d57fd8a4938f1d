/** The thin database seam under the SQL store: every backend (SQLite, PostgreSQL, Durable Object SQLite) implements it. */

export type SqlValue = string | number | null;
export type SqlRow = Record<string, unknown>;

/**
 * SQL is written once with `?` placeholders; a driver translates them (PostgreSQL: `$1`, `$2`, ...).
 * Numbers may come back as strings (PostgreSQL BIGINT): the store converts every numeric column itself.
 */
export interface SqlDriver {
  readonly dialect: 'sqlite' | 'postgres';
  query(sql: string, params?: SqlValue[]): Promise<SqlRow[]>;
  /** Runs a statement; returns how many rows it changed. */
  exec(sql: string, params?: SqlValue[]): Promise<number>;
  /** Runs one write statement ending in RETURNING; resolves with its rows once committed (one statement, no read-back). */
  write(sql: string, params?: SqlValue[]): Promise<SqlRow[]>;
  /** Runs a multi-statement script without parameters (migrations). */
  script(sql: string): Promise<void>;
  /**
   * Runs `fn` inside one transaction on one connection, serialized against every other writer.
   * Nested calls reuse the outer transaction.
   */
  transaction<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T>;
  /** How commits reach the disk, for the start-up line and the bench (e.g. `journal_mode=wal, synchronous=full`). */
  durability(): Promise<string>;
  close(): Promise<void>;
}

/** `?` -> `$1..$n`, skipping quoted strings. For drivers that number their placeholders. */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  let out = '';
  let quoted = false;
  for (const ch of sql) {
    if (ch === "'") quoted = !quoted;
    out += ch === '?' && !quoted ? `$${++n}` : ch;
  }
  return out;
}
