import type { MetaStore } from '../ports/meta.ts';
import type { SqlDriver } from './driver.ts';

/** MetaStore in SQL. */
export class SqlMetaStore implements MetaStore {
  readonly #db: SqlDriver;

  constructor(driver: SqlDriver) {
    this.#db = driver;
  }

  async getMeta(name: string): Promise<string | undefined> {
    const [row] = await this.#db.query('SELECT value FROM meta WHERE name = ?', [name]);
    return row ? String(row.value) : undefined;
  }

  async setMeta(name: string, value: string): Promise<void> {
    await this.#db.exec('INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [name, value]);
  }
}
