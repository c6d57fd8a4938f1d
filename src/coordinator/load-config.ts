import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { stateDir } from '../config/paths.ts';
import { CrabboxError } from '../domain/errors.ts';
import { registerSecret } from '../redact/redact.ts';
import { isPostgresUrl, registerPostgresUrl } from '../storage/postgres-url.ts';
import { parseDuration } from '../domain/duration.ts';
import { parseCidr } from '../net/cidr.ts';
import type { TrustedProxy } from './source-address.ts';
import { parsePools } from './pool/config.ts';
import { coordinatorConfig, coordinatorFileSchema, teamRef, type AccessConfig, type CoordinatorConfig, type CoordinatorFileConfig, type LoginConfig } from './config.ts';

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

const list = (value: string | undefined): string[] | undefined => (value === undefined ? undefined : value.split(',').map((s) => s.trim()).filter(Boolean));

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

/** GitHub login settings: enabled when a client id is set (env or file); the client secret comes only from env. */
function loginSettings(env: NodeJS.ProcessEnv, file: CoordinatorFileConfig): Partial<LoginConfig> {
  const ttlText = env.CRABBOX_USER_TOKEN_TTL;
  const login: Partial<LoginConfig> = {
    publicUrl: env.CRABBOX_PUBLIC_URL ?? file.publicUrl,
    ...(ttlText !== undefined || file.userTokenTtl !== undefined ? { userTokenTtlSeconds: ttlText !== undefined ? parseDuration(ttlText, 'CRABBOX_USER_TOKEN_TTL') : file.userTokenTtl! } : {}),
  };
  const clientId = env.CRABBOX_GITHUB_CLIENT_ID ?? file.github?.clientId;
  if (!clientId) return login;
  const clientSecret = readSecret(env, 'CRABBOX_GITHUB_CLIENT_SECRET');
  if (!clientSecret) throw new CrabboxError('invalid_config', 'GitHub login needs CRABBOX_GITHUB_CLIENT_SECRET (or _FILE) next to the client id');
  const teams = list(env.CRABBOX_GITHUB_TEAMS) ?? file.github?.teams ?? [];
  const bad = teams.find((t) => !teamRef.safeParse(t).success);
  if (bad) throw new CrabboxError('invalid_config', `CRABBOX_GITHUB_TEAMS: ${JSON.stringify(bad.slice(0, 80))} is not org/team-slug`);
  login.github = {
    clientId,
    clientSecret,
    webUrl: env.CRABBOX_GITHUB_URL ?? file.github?.webUrl ?? 'https://github.com',
    apiUrl: env.CRABBOX_GITHUB_API_URL ?? file.github?.apiUrl ?? 'https://api.github.com',
    orgs: list(env.CRABBOX_GITHUB_ORGS) ?? file.github?.orgs ?? [],
    teams,
  };
  return login;
}

/** Cloudflare Access settings: both a team domain and an audience, or neither. */
function accessSettings(env: NodeJS.ProcessEnv, file: CoordinatorFileConfig): AccessConfig | undefined {
  const teamDomain = env.CRABBOX_ACCESS_TEAM_DOMAIN ?? file.access?.teamDomain;
  const audience = env.CRABBOX_ACCESS_AUDIENCE ?? file.access?.audience;
  if (!teamDomain && !audience) return undefined;
  if (!teamDomain || !audience) throw new CrabboxError('invalid_config', 'Cloudflare Access needs both a team domain and an audience (CRABBOX_ACCESS_TEAM_DOMAIN, CRABBOX_ACCESS_AUDIENCE)');
  if (!/^[a-z0-9.-]+$/i.test(teamDomain)) throw new CrabboxError('invalid_config', 'CRABBOX_ACCESS_TEAM_DOMAIN must be a host name such as acme.cloudflareaccess.com');
  return { teamDomain, audience, jwksUrl: env.CRABBOX_ACCESS_JWKS_URL ?? file.access?.jwksUrl ?? `https://${teamDomain}/cdn-cgi/access/certs` };
}

/** The trusted proxy: a header name and the CIDRs it is believed from, both or neither (env wins over the file). */
function trustedProxySettings(env: NodeJS.ProcessEnv, file: CoordinatorFileConfig): TrustedProxy | undefined {
  const header = env.CRABBOX_TRUSTED_PROXY_HEADER ?? file.trustedProxy?.header;
  const from = list(env.CRABBOX_TRUSTED_PROXIES) ?? file.trustedProxy?.from;
  if (!header && !from?.length) return undefined;
  if (!header || !from?.length) throw new CrabboxError('invalid_config', 'a trusted proxy needs both its client-address header and the CIDRs it connects from (CRABBOX_TRUSTED_PROXY_HEADER, CRABBOX_TRUSTED_PROXIES)');
  if (!/^[A-Za-z0-9-]{1,64}$/.test(header)) throw new CrabboxError('invalid_config', `CRABBOX_TRUSTED_PROXY_HEADER must be an HTTP header name such as CF-Connecting-IP, got ${JSON.stringify(header.slice(0, 40))}`);
  return {
    header,
    from: from.map((cidr) => {
      try {
        return parseCidr(cidr, 'trusted proxy').cidr;
      } catch (error) {
        if (/whole internet/.test((error as Error).message)) throw new CrabboxError('invalid_config', `trusted proxy: ${cidr} is too wide (at most /8 for IPv4, /16 for IPv6): list the proxy's own addresses, or anyone could set the client address`);
        throw error;
      }
    }),
  };
}

/** Resolves serve settings: flags > env > config file > defaults. */
export function loadServeSettings(env: NodeJS.ProcessEnv, flags: ServeFlags = {}): ServeSettings {
  const path = flags.config ?? env.CRABBOX_COORDINATOR_CONFIG;
  const file = path ? readConfigFile(path) : {};
  const full = coordinatorConfig({
    installation: env.CRABBOX_INSTALLATION ?? file.installation,
    defaultProvider: file.defaultProvider,
    auth: {
      sharedToken: readSecret(env, 'CRABBOX_SHARED_TOKEN'),
      sessionSecret: readSecret(env, 'CRABBOX_SESSION_SECRET'),
      admins: list(env.CRABBOX_COORDINATOR_ADMINS) ?? file.admins ?? [],
      maintainers: list(env.CRABBOX_COORDINATOR_MAINTAINERS) ?? file.maintainers ?? [],
      sharedTokenRole: file.sharedTokenRole ?? 'user',
    },
    caps: { activeLeases: file.caps?.activeLeases ?? {}, monthlySpend: file.caps?.monthlySpend ?? {} },
    prices: file.prices,
    fallbackHourlyPrice: file.fallbackHourlyPrice,
    lease: { defaultTtlSeconds: file.lease?.defaultTtl, maxTtlSeconds: file.lease?.maxTtl, defaultIdleSeconds: file.lease?.defaultIdle },
    retentionSeconds: file.retention,
    logTailBytes: file.logTailBytes,
    recordCommand: file.recordCommand,
    sweepIntervalSeconds: file.sweepInterval,
    orphanSweepIntervalSeconds: file.orphanSweepInterval,
    orphanSafetyWindowSeconds: file.orphanSafetyWindow,
    login: loginSettings(env, file),
    access: accessSettings(env, file),
    trustedProxy: trustedProxySettings(env, file),
    pools: parsePools(file.pools, path ? `${path}: pools` : 'pools'),
  });
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
