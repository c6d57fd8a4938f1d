import type { Page } from '../ports/page.ts';
import type { NewRun, RunFinish, RunQuery, RunRecord, RunStore } from '../ports/runs.ts';
import type { SqlDriver } from './driver.ts';
import { runFromRow } from './rows.ts';
import { afterCursor, keysetPage, orNull, pageSize, scopeWhere } from './query.ts';

/** RunStore in SQL. */
export class SqlRunStore implements RunStore {
  readonly #db: SqlDriver;

  constructor(driver: SqlDriver) {
    this.#db = driver;
  }

  // Writes return the row they wrote (RETURNING *): one statement, where a write and a read-back were two or three.
  async createRun(run: NewRun): Promise<RunRecord> {
    const [row] = await this.#db.write("INSERT INTO runs (id, lease_id, slug, provider, owner, org, command, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?) RETURNING *", [
      run.id, run.leaseId, orNull(run.slug), orNull(run.provider), run.owner, run.org, orNull(run.command), run.createdAt,
    ]);
    return runFromRow(row!);
  }

  async finishRun(id: string, f: RunFinish): Promise<RunRecord | undefined> {
    const [row] = await this.#db.write(
      `UPDATE runs SET state = ?, exit_code = ?, source = ?, interrupted = ?, remote_exit_code = ?, sync_skipped = ?, ended_at = ?, timings = ?,
         log_tail = ?, log_truncated = ?, junit = ?, artifacts = ? WHERE id = ? AND state = 'running' RETURNING *`,
      [
        f.state ?? (f.exitCode === 0 ? 'succeeded' : 'failed'), f.exitCode, orNull(f.source), orNull(f.interrupted), orNull(f.remoteExitCode),
        f.syncSkipped === undefined ? null : f.syncSkipped ? 1 : 0, f.endedAt, f.timings ? JSON.stringify(f.timings) : null, orNull(f.logTail),
        f.logTruncated ? 1 : 0, f.junit ? JSON.stringify(f.junit) : null, f.artifacts ? JSON.stringify(f.artifacts) : null, id,
      ],
    );
    return row ? runFromRow(row) : undefined;
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
         created_at, ended_at, timings, NULL AS log_tail, log_truncated, junit, artifacts
       FROM runs${where} ORDER BY created_at DESC, id DESC LIMIT ?`,
      [...where.params, limit + 1],
    );
    return keysetPage(rows.map(runFromRow), limit);
  }

  prune(olderThan: number): Promise<number> {
    return this.#db.exec('DELETE FROM runs WHERE created_at < ?', [olderThan]);
  }
}
