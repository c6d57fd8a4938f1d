import { existsSync } from 'node:fs';
import { isCrabboxError } from '../domain/errors.ts';
import { loadServeSettings } from '../coordinator/load-config.ts';
import { configWarnings } from '../coordinator/warnings.ts';
import { inspectSqliteFiles } from '../storage/sqlite-files.ts';
import type { Check } from './checks.ts';

/**
 * Checks for a machine that runs `crabbox coordinator serve`: its database files (the same rules serve enforces when
 * it opens them) and settings serve would warn about. A machine runs a coordinator when its settings name one
 * (CRABBOX_COORDINATOR_CONFIG or CRABBOX_COORDINATOR_DB) or the default database file exists; otherwise no check.
 */
export function coordinatorHostChecks(env: NodeJS.ProcessEnv): Check[] {
  const named = Boolean(env.CRABBOX_COORDINATOR_CONFIG || env.CRABBOX_COORDINATOR_DB);
  let settings: ReturnType<typeof loadServeSettings>;
  try {
    settings = loadServeSettings(env);
  } catch (error) {
    if (!named) return [];
    return [{ name: 'coordinator config', ok: false, kind: 'config', detail: isCrabboxError(error) ? error.message : String(error), fix: 'see docs/coordinator.md' }];
  }
  if (!named && !existsSync(settings.database)) return [];
  const checks: Check[] = [];
  if (!settings.databaseUrl) checks.push(databaseCheck(settings.database));
  const warnings = configWarnings(settings.config);
  checks.push(warnings.length === 0
    ? { name: 'coordinator config', ok: true, kind: 'config', detail: 'no warnings' }
    : { name: 'coordinator config', ok: true, warning: true, kind: 'config', detail: warnings.join('; ') });
  return checks;
}

function databaseCheck(path: string): Check {
  const found = inspectSqliteFiles(path);
  const name = 'coordinator database';
  if (found.refuse.length > 0) return { name, ok: false, kind: 'config', detail: `coordinator serve refuses it: ${found.refuse.join('; ')}` };
  if (found.loose.length > 0) {
    const files = found.loose.map((l) => `${l.file} is 0${l.mode.toString(8)}`).join(', ');
    return { name, ok: false, kind: 'config', detail: `readable by others: ${files}`, fix: `chmod 600 ${found.loose.map((l) => l.file).join(' ')} (coordinator serve also fixes them when it starts)` };
  }
  if (found.warn.length > 0) return { name, ok: true, warning: true, kind: 'config', detail: found.warn.join('; ') };
  return { name, ok: true, kind: 'config', detail: existsSync(path) ? `${path} and its directory are private` : `${path} (not created yet; its directory is private)` };
}
