import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { stateDir } from '../config/paths.ts';
import { CrabboxError } from '../domain/errors.ts';
import { registerSecret } from '../redact/redact.ts';
import { isPostgresUrl, registerPostgresUrl } from '../storage/postgres-url.ts';
import { coordinatorFileSchema, type CoordinatorConfig, type CoordinatorFileConfig } from './config.ts';
import { coordinatorConfigFrom } from './settings.ts';

/** Coordinator settings from a YAML file and env vars. Secrets come only from env vars or files, never flags. */

export interface ServeFlags {
  host?: string | undefined;
  port?: number | undefined;
  database?: string | undefined;
  config?: string | undefined;
}

export interface ServeSettings {
  host: string;
  port: number;
  database: string;
  /** PostgreSQL connection string (a secret) from CRABBOX_DATABASE_URL(_FILE); when set it replaces `database`. */
  databaseUrl?: string | undefined;
  databaseSchema?: string | undefined;
  /** Set when the file or env names one; otherwise the store's remembered installation id is used. */
  installation?: string | undefined;
  config: Omit<CoordinatorConfig, 'installation'>;
}

function readConfigFile(path: string): CoordinatorFileConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CrabboxError('invalid_config', `cannot read the coordinator config ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let raw: unknown;
  try {
    raw = parse(text) ?? {};
  } catch (error) {
    throw new CrabboxError('invalid_config', `${path} is not valid YAML: ${String((error as Error).message).split('\n')[0]}`);
  }
  const parsed = coordinatorFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CrabboxError('invalid_config', `${path}: ${issue?.path.join('.') || 'config'}: ${issue?.message ?? 'invalid'}`, { hint: 'secrets (shared token, session secret) belong in CRABBOX_SHARED_TOKEN(_FILE) / CRABBOX_SESSION_SECRET(_FILE), not in the file' });
  }
  return parsed.data;
}

/** A secret from NAME or NAME_FILE (the file must not be readable by group or others). */
export function readSecret(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (direct && file) throw new CrabboxError('invalid_config', `set ${name} or ${name}_FILE, not both`);
  let value = direct;
  if (file) {
    try {
      if ((statSync(file).mode & 0o077) !== 0) throw new CrabboxError('invalid_config', `${name}_FILE ${file} is readable by others`, { hint: `chmod 600 ${file}` });
      value = readFileSync(file, 'utf8').trim();
    } catch (error) {
      if (error instanceof CrabboxError) throw error;
      throw new CrabboxError('invalid_config', `cannot read ${name}_FILE ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  if (value !== undefined && value.trim() === '') return undefined;
  registerSecret(value);
  return value;
}

/** The PostgreSQL store settings; a connection string is a secret, so it is refused anywhere but the env or a 0600 file. */
function postgresSettings(env: NodeJS.ProcessEnv, database: string): { databaseUrl?: string; databaseSchema?: string } {
  if (/^postgres(?:ql)?:/i.test(database)) {
    registerPostgresUrl(database);
    throw new CrabboxError('invalid_config', 'a PostgreSQL connection string may hold a password, so pass it in CRABBOX_DATABASE_URL or CRABBOX_DATABASE_URL_FILE, not --db, CRABBOX_COORDINATOR_DB or the config file');
  }
  const databaseUrl = readSecret(env, 'CRABBOX_DATABASE_URL');
  if (databaseUrl !== undefined) registerPostgresUrl(databaseUrl);
  if (databaseUrl !== undefined && !isPostgresUrl(databaseUrl)) throw new CrabboxError('invalid_config', 'CRABBOX_DATABASE_URL must be a postgres:// or postgresql:// connection string');
  const databaseSchema = env.CRABBOX_DATABASE_SCHEMA || undefined;
  if (databaseSchema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(databaseSchema)) throw new CrabboxError('invalid_config', 'CRABBOX_DATABASE_SCHEMA must be a lower-case identifier (a-z, 0-9, _)');
  return { ...(databaseUrl ? { databaseUrl } : {}), ...(databaseSchema ? { databaseSchema } : {}) };
}

/** Resolves serve settings: flags > env > config file > defaults. */
export function loadServeSettings(env: NodeJS.ProcessEnv, flags: ServeFlags = {}): ServeSettings {
  const path = flags.config ?? env.CRABBOX_COORDINATOR_CONFIG;
  const file = path ? readConfigFile(path) : {};
  const full = coordinatorConfigFrom(env, file, (name) => readSecret(env, name), path ? `${path}: pools` : 'pools');
  const { installation: _ignored, ...config } = full;
  const portText = env.CRABBOX_COORDINATOR_PORT;
  const envPort = portText !== undefined && /^\d{1,5}$/.test(portText) ? Number(portText) : undefined;
  if (portText !== undefined && (envPort === undefined || envPort > 65535)) throw new CrabboxError('invalid_config', `CRABBOX_COORDINATOR_PORT must be a port number, got ${JSON.stringify(portText.slice(0, 20))}`);
  const database = flags.database ?? env.CRABBOX_COORDINATOR_DB ?? file.database ?? join(stateDir(env), 'coordinator.sqlite');
  const { databaseUrl, databaseSchema } = postgresSettings(env, database);
  return {
    host: flags.host ?? env.CRABBOX_COORDINATOR_HOST ?? file.host ?? '127.0.0.1',
    port: flags.port ?? envPort ?? file.port ?? 8787,
    database,
    databaseUrl,
    databaseSchema,
    installation: env.CRABBOX_INSTALLATION ?? file.installation,
    config,
  };
}
