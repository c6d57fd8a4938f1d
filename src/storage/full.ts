import { CrabboxError } from '../domain/errors.ts';

/**
 * A store that cannot write because its disk is full: SQLite's SQLITE_FULL (13), an ENOSPC from the file system, or
 * PostgreSQL's disk_full (53100). Such a failure is the operator's to fix, not a bug, and nothing was changed: the
 * coordinator answers 503 with that, never a bare 500.
 */
export function diskFull(error: unknown): CrabboxError | undefined {
  const e = error as { errcode?: unknown; code?: unknown; message?: unknown } | undefined;
  const full = e?.errcode === 13 || e?.code === 'ENOSPC' || e?.code === '53100' || /database or disk is full|No space left on device|could not extend file/i.test(String(e?.message ?? ''));
  if (!full) return undefined;
  return new CrabboxError('unavailable', 'the coordinator cannot write its database: the disk is full; nothing was changed', { hint: 'try again later; operators: free space on the database volume' });
}
