import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Migration } from './migrate.ts';

export { migrate, type Migration } from './migrate.ts';

// Beside this file in the source tree; from dist/ (bundled) the source copy shipped with the package.
const CANDIDATES = ['./migrations/', '../src/storage/sql/migrations/', '../../src/storage/sql/migrations/'];

/** Reads the numbered `.sql` migrations (`0001_init.sql`, ...) in order, from disk (Node; the Worker bundles them as data). */
export function loadMigrations(): Migration[] {
  const dir = CANDIDATES.map((c) => fileURLToPath(new URL(c, import.meta.url))).find((d) => existsSync(d));
  if (!dir) throw new Error('crabbox: SQL migrations not found next to the store');
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 4)), name: f.slice(5, -4), sql: readFileSync(`${dir}/${f}`, 'utf8') }));
}

