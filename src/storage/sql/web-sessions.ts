import type { WebSessionRecord, WebSessionStore } from '../ports/web-sessions.ts';
import type { SqlDriver } from './driver.ts';
import { orNull } from './query.ts';
import { webSessionFromRow } from './rows.ts';

/** WebSessionStore in SQL. */
export class SqlWebSessionStore implements WebSessionStore {
  readonly #db: SqlDriver;

  constructor(driver: SqlDriver) {
    this.#db = driver;
  }

  createWebSession(s: WebSessionRecord, now: number): Promise<void> {
    return this.#db.transaction(async (db) => {
      await db.exec('DELETE FROM web_sessions WHERE expires_at <= ? OR absolute_expires_at <= ?', [now, now]);
      await db.exec(
        `INSERT INTO web_sessions (id, secret_hash, owner, org, login, role, access_identity, address, user_agent, created_at, last_seen_at, expires_at, absolute_expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [s.id, s.secretHash, s.owner, s.org, s.login, s.role, orNull(s.accessIdentity), orNull(s.address), orNull(s.userAgent), s.createdAt, s.lastSeenAt, s.expiresAt, s.absoluteExpiresAt],
      );
    });
  }

  async getWebSession(id: string): Promise<WebSessionRecord | undefined> {
    const [row] = await this.#db.query('SELECT * FROM web_sessions WHERE id = ?', [id]);
    return row ? webSessionFromRow(row) : undefined;
  }

  async touchWebSession(id: string, update: { lastSeenAt: number; expiresAt: number }): Promise<boolean> {
    const changed = await this.#db.exec(
      'UPDATE web_sessions SET last_seen_at = ?, expires_at = CASE WHEN ? < absolute_expires_at THEN ? ELSE absolute_expires_at END WHERE id = ?',
      [update.lastSeenAt, update.expiresAt, update.expiresAt, id],
    );
    return changed > 0;
  }

  async deleteWebSession(id: string, owner?: string): Promise<boolean> {
    const changed = owner === undefined
      ? await this.#db.exec('DELETE FROM web_sessions WHERE id = ?', [id])
      : await this.#db.exec('DELETE FROM web_sessions WHERE id = ? AND owner = ?', [id, owner]);
    return changed > 0;
  }

  async listWebSessions(owner: string, now: number): Promise<WebSessionRecord[]> {
    const rows = await this.#db.query('SELECT * FROM web_sessions WHERE owner = ? AND expires_at > ? AND absolute_expires_at > ? ORDER BY created_at DESC, id DESC LIMIT 100', [owner, now, now]);
    return rows.map(webSessionFromRow);
  }
}
