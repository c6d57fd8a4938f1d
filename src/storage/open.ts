import { redact } from '../redact/redact.ts';
import { openPostgresStore } from './postgres.ts';
import { describePostgresUrl } from './postgres-url.ts';
import { openSqliteStore } from './sqlite.ts';
import type { FleetStore } from './store.ts';

/** Where the fleet lives: a PostgreSQL URL (shared by replicas) when given, else the embedded SQLite file. */
export interface StoreChoice {
  sqlitePath: string;
  /** A secret (may hold a password): from CRABBOX_DATABASE_URL(_FILE) only. */
  postgresUrl?: string | undefined;
  postgresSchema?: string | undefined;
}

/** Opens (and migrates) the chosen fleet store. */
export function openFleetStore(choice: StoreChoice & { now: number; onWarning?: ((message: string) => void) | undefined }): Promise<FleetStore> {
  return choice.postgresUrl
    ? openPostgresStore({ url: choice.postgresUrl, schema: choice.postgresSchema, now: choice.now })
    : openSqliteStore({ path: choice.sqlitePath, now: choice.now, onWarning: choice.onWarning });
}

/** The chosen store for a log line, without credentials. */
export function describeStore(choice: StoreChoice): string {
  if (!choice.postgresUrl) return `sqlite ${redact(choice.sqlitePath)}`;
  return `postgres ${describePostgresUrl(choice.postgresUrl)}${choice.postgresSchema ? ` schema ${choice.postgresSchema}` : ''}`;
}
