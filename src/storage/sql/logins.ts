import type { LoginLimits, LoginPatch, LoginRecord, LoginStatus, LoginStore, NewLogin } from '../ports/logins.ts';
import type { SqlDriver, SqlValue } from './driver.ts';
import { loginFromRow } from './rows.ts';
import { orNull, placeholders } from './query.ts';

/** Expired logins are kept this long so a late callback or poll is told "expired" rather than "unknown". */
const LOGIN_GRACE_MS = 60 * 60 * 1000;

/** LoginStore in SQL: every status change is a compare-and-set. */
export class SqlLoginStore implements LoginStore {
  readonly #db: SqlDriver;

  constructor(driver: SqlDriver) {
    this.#db = driver;
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
        "INSERT INTO logins (id, state_hash, secret_hash, source, address, phrase, port, status, kind, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
        [login.id, login.stateHash, login.secretHash, login.source, orNull(login.address), orNull(login.phrase), orNull(login.port), login.kind ?? 'cli', login.createdAt, login.expiresAt],
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
         WHERE id = ? AND status IN (${placeholders(from)})`,
        [patch.status, orNull(patch.owner), orNull(patch.org), orNull(patch.login), orNull(patch.message), orNull(patch.codeHash), id, ...from],
      );
      if (changed === 0) return undefined;
      const [row] = await db.query('SELECT * FROM logins WHERE id = ?', [id]);
      return row ? loginFromRow(row) : undefined;
    });
  }
}
