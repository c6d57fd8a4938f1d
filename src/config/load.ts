import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { userInfo } from 'node:os';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { CrabboxError } from '../domain/errors.ts';
import { DEFAULT_IDLE_SECONDS, DEFAULT_TTL_SECONDS } from '../domain/lease.ts';
import { parseDuration } from '../domain/duration.ts';
import { registerSecret } from '../redact/redact.ts';
import { isSecretName } from '../redact/names.ts';
import { REPO_CONFIG_FILE, stateDir, userConfigPath } from './paths.ts';
import { PROVIDERS, envPattern, repoConfigSchema, userConfigSchema, type RepoConfigFile, type UserConfigFile } from './schema.ts';

export type Source = 'default' | 'user' | 'repo' | 'env' | 'flag';

/** The resolved, validated, frozen configuration every command works from. */
export interface Config {
  provider: (typeof PROVIDERS)[number];
  owner: string;
  org: string;
  coordinator?: { url: string; token?: string | undefined; tokenKind: 'shared' | 'user' } | undefined;
  lease: { ttlSeconds: number; idleTimeoutSeconds: number; keep: boolean; class?: string | undefined; type?: string | undefined };
  ssh: { port: number; fallbackPorts: number[]; connectTimeoutSeconds: number };
  sync: { exclude: string[]; warnFiles: number; maxFiles: number; warnBytes: number; maxBytes: number; deleteLimit: number; timeoutSeconds: number };
  env: { allow: string[] };
  run: { recordCommand: boolean; logTailBytes: number; junit: string[]; historyLimit: number };
  local: { workRoot?: string | undefined };
  static: UserConfigFile['static'];
  hetzner: UserConfigFile['hetzner'];
  aws: UserConfigFile['aws'];
  classes: UserConfigFile['classes'];
  paths: { userConfig: string; repoConfig?: string | undefined; repoRoot?: string | undefined; stateDir: string };
  /** Where each top-level setting came from, for `config show`. */
  sources: Record<string, Source>;
}

/** Flags that override config. Only the ones a command declares are set. */
export interface ConfigFlags {
  provider?: string | undefined;
  ttl?: string | undefined;
  idleTimeout?: string | undefined;
  keep?: boolean | undefined;
  class?: string | undefined;
  type?: string | undefined;
  coordinator?: string | undefined;
}

export interface LoadOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  flags?: ConfigFlags;
  /** Skips looking for a repo config (commands that work outside a checkout). */
  noRepo?: boolean;
}

/** Finds the git top level by walking up to a `.git` entry; no git process is spawned. */
export function findRepoRoot(cwd: string): string | undefined {
  let dir = cwd;
  for (;;) {
    try {
      statSync(join(dir, '.git'));
      return dir;
    } catch {
      const parent = dirname(dir);
      if (parent === dir) return undefined;
      dir = parent;
    }
  }
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`.slice(0, 60);
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let v: unknown = root;
  for (const key of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  return v;
}

/** Turns the first schema issue into one line naming the file, the key and what was expected. */
export function describeIssue(file: string, data: unknown, issue: z.core.$ZodIssue): string {
  // Keys are the file's own text: one with a line break or a quote is shown quoted, so the message stays one line.
  const plain = (k: PropertyKey): string => (/^[\w.@+~/ -]*$/.test(String(k)) ? String(k) : JSON.stringify(String(k)));
  const key = issue.path.map(plain).join('.');
  if (issue.code === 'unrecognized_keys') {
    const prefix = key ? `${key}.` : '';
    return `${file}: unknown key ${issue.keys.map((k) => `"${prefix}${plain(k)}"`).join(', ')}`;
  }
  const got = valueAt(data, issue.path);
  if (issue.code === 'invalid_type') return `${file}: ${key || '(top level)'}: expected ${issue.expected}, got ${describeType(got)}`;
  if (issue.code === 'invalid_value') return `${file}: ${key}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeType(got)}`;
  return `${file}: ${key || '(top level)'}: ${issue.message}${typeof got === 'string' && !isSecretName(key) ? `, got ${JSON.stringify(got.slice(0, 80))}` : ''}`;
}

/** Reads and validates one YAML config file. A missing file is an empty config. */
export function readConfigFile<S extends z.ZodType>(file: string, schema: S, what: string): z.infer<S> | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CrabboxError('invalid_config', `${file}: cannot read ${what}: ${(error as Error).message}`);
  }
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const line = first.linePos?.[0]?.line;
    throw new CrabboxError('invalid_config', `${file}${line ? `:${line}` : ''}: malformed YAML: ${first.message.split('\n')[0]}`);
  }
  let data: unknown;
  try {
    // Resolving aliases can still fail (an alias to a missing anchor under a merge key, an alias bomb).
    data = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (error) {
    throw new CrabboxError('invalid_config', `${file}: malformed YAML: ${String((error as Error).message).split('\n')[0]}`);
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    throw new CrabboxError('invalid_config', describeIssue(file, data, parsed.error.issues[0]!), {
      hint: what === 'repo config' && /coordinator|owner|org|hetzner|aws|static|local/.test(String(parsed.error.issues[0]?.path[0] ?? (parsed.error.issues[0] as { keys?: string[] }).keys?.[0]))
        ? 'repo config cannot choose credentials or where they are sent; set this in your user config'
        : undefined,
    });
  }
  return parsed.data as z.infer<S>;
}

function envList(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

function parseEnvDuration(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  try {
    return parseDuration(value);
  } catch {
    throw new CrabboxError('invalid_config', `${name}=${JSON.stringify(value)}: expected a duration such as 90m or 45s`);
  }
}

function parseFlagDuration(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseDuration(value);
  } catch {
    throw new CrabboxError('bad_request', `--${flag} ${JSON.stringify(value)}: expected a duration such as 90m or 45s`);
  }
}

function checkTtl(seconds: number | undefined, what: string): number | undefined {
  if (seconds !== undefined && (seconds <= 0 || seconds > 86400)) throw new CrabboxError('bad_request', `${what} must be between 1s and 24h, got ${seconds}s`);
  return seconds;
}

/**
 * Loads configuration with precedence flags > env > repo > user > defaults.
 * Repo config can never set where credentials go: its schema has no coordinator, owner or provider-credential keys.
 */
export function loadConfig(options: LoadOptions): Readonly<Config> {
  const { env, cwd, flags = {} } = options;
  const userPath = userConfigPath(env);
  const user: UserConfigFile = readConfigFile(userPath, userConfigSchema, 'user config') ?? {};
  const repoRoot = options.noRepo ? undefined : findRepoRoot(cwd);
  const repoPath = repoRoot ? join(repoRoot, REPO_CONFIG_FILE) : undefined;
  const repo: RepoConfigFile = (repoPath && readConfigFile(repoPath, repoConfigSchema, 'repo config')) || {};
  const sources: Record<string, Source> = {};

  function pick<T>(key: string, candidates: [Source, T | undefined][], fallback: T): T {
    for (const [source, value] of candidates) {
      if (value !== undefined) {
        sources[key] = source;
        return value;
      }
    }
    sources[key] = 'default';
    return fallback;
  }

  const providerFlag = flags.provider;
  if (providerFlag !== undefined && !(PROVIDERS as readonly string[]).includes(providerFlag)) {
    throw new CrabboxError('bad_request', `--provider ${JSON.stringify(providerFlag)}: expected one of ${PROVIDERS.join(', ')}`);
  }
  const providerEnv = env.CRABBOX_PROVIDER || undefined;
  if (providerEnv !== undefined && !(PROVIDERS as readonly string[]).includes(providerEnv)) {
    throw new CrabboxError('invalid_config', `CRABBOX_PROVIDER=${JSON.stringify(providerEnv)}: expected one of ${PROVIDERS.join(', ')}`);
  }
  const provider = pick<Config['provider']>('provider', [['flag', providerFlag as Config['provider']], ['env', providerEnv as Config['provider']], ['repo', repo.provider], ['user', user.provider]], 'local');

  const owner = pick('owner', [['env', env.CRABBOX_OWNER || undefined], ['user', user.owner]], safeUsername());
  const org = pick('org', [['env', env.CRABBOX_ORG || undefined], ['user', user.org]], 'local');

  // Coordinator: user config, env or flags only. Never repo config.
  const coordinatorUrl = pick<string | undefined>('coordinator', [['flag', flags.coordinator], ['env', env.CRABBOX_COORDINATOR || undefined], ['user', user.coordinator?.url]], undefined);
  const envToken = env.CRABBOX_COORDINATOR_TOKEN || undefined;
  const token = envToken ?? user.coordinator?.token;
  registerSecret(token);
  const coordinator = coordinatorUrl
    ? { url: validateCoordinatorUrl(coordinatorUrl), token, tokenKind: envToken ? ('shared' as const) : (user.coordinator?.tokenKind ?? 'shared') }
    : undefined;

  const ttlSeconds = pick('lease.ttl', [['flag', checkTtl(parseFlagDuration(flags.ttl, 'ttl'), '--ttl')], ['env', checkTtl(parseEnvDuration(env, 'CRABBOX_TTL'), 'CRABBOX_TTL')], ['repo', repo.lease?.ttl], ['user', user.lease?.ttl]], DEFAULT_TTL_SECONDS);
  const idleTimeoutSeconds = pick('lease.idleTimeout', [['flag', checkTtl(parseFlagDuration(flags.idleTimeout, 'idle-timeout'), '--idle-timeout')], ['env', checkTtl(parseEnvDuration(env, 'CRABBOX_IDLE_TIMEOUT'), 'CRABBOX_IDLE_TIMEOUT')], ['repo', repo.lease?.idleTimeout], ['user', user.lease?.idleTimeout]], DEFAULT_IDLE_SECONDS);
  const keep = pick('lease.keep', [['flag', flags.keep], ['repo', repo.lease?.keep], ['user', user.lease?.keep]], false);
  const leaseClass = pick<string | undefined>('lease.class', [['flag', flags.class], ['repo', repo.lease?.class], ['user', user.lease?.class]], undefined);
  const leaseType = pick<string | undefined>('lease.type', [['flag', flags.type], ['repo', repo.lease?.type], ['user', user.lease?.type]], undefined);

  const envAllowOverride = envList(env.CRABBOX_ENV_ALLOW);
  for (const name of envAllowOverride ?? []) {
    if (!envPattern.safeParse(name).success) throw new CrabboxError('invalid_config', `CRABBOX_ENV_ALLOW: ${JSON.stringify(name)} is not an env name or PREFIX_* pattern (a bare * is not allowed)`);
  }
  const allow = envAllowOverride ?? [...new Set(['CI', 'NODE_OPTIONS', ...(user.env?.allow ?? []), ...(repo.env?.allow ?? [])])];
  sources['env.allow'] = envAllowOverride ? 'env' : repo.env?.allow ? 'repo' : user.env?.allow ? 'user' : 'default';

  const fallbackEnv = envList(env.CRABBOX_SSH_FALLBACK_PORTS)?.map((p) => {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new CrabboxError('invalid_config', `CRABBOX_SSH_FALLBACK_PORTS: ${JSON.stringify(p)} is not a port`);
    return n;
  });

  const config: Config = {
    provider,
    owner,
    org,
    coordinator,
    lease: { ttlSeconds, idleTimeoutSeconds: Math.min(idleTimeoutSeconds, ttlSeconds), keep, class: leaseClass, type: leaseType },
    ssh: {
      port: repo.ssh?.port ?? user.ssh?.port ?? 2222,
      fallbackPorts: fallbackEnv ?? repo.ssh?.fallbackPorts ?? user.ssh?.fallbackPorts ?? [22],
      connectTimeoutSeconds: repo.ssh?.connectTimeout ?? user.ssh?.connectTimeout ?? 10,
    },
    sync: {
      exclude: [...(user.sync?.exclude ?? []), ...(repo.sync?.exclude ?? [])],
      warnFiles: repo.sync?.warnFiles ?? user.sync?.warnFiles ?? 20_000,
      maxFiles: repo.sync?.maxFiles ?? user.sync?.maxFiles ?? 150_000,
      warnBytes: repo.sync?.warnBytes ?? user.sync?.warnBytes ?? 2 * 1024 ** 3,
      maxBytes: repo.sync?.maxBytes ?? user.sync?.maxBytes ?? 20 * 1024 ** 3,
      deleteLimit: repo.sync?.deleteLimit ?? user.sync?.deleteLimit ?? 500,
      timeoutSeconds: repo.sync?.timeout ?? user.sync?.timeout ?? 30 * 60,
    },
    env: { allow },
    run: {
      recordCommand: repo.run?.recordCommand ?? user.run?.recordCommand ?? true,
      logTailBytes: repo.run?.logTail ?? user.run?.logTail ?? 64 * 1024,
      junit: repo.run?.junit ?? user.run?.junit ?? [],
      historyLimit: user.run?.historyLimit ?? 500,
    },
    local: { workRoot: user.local?.workRoot },
    static: user.static,
    hetzner: user.hetzner,
    aws: user.aws,
    classes: { ...(user.classes ?? {}), ...(repo.classes ?? {}) },
    paths: { userConfig: userPath, repoConfig: repoPath, repoRoot, stateDir: stateDir(env) },
    sources,
  };
  return deepFreeze(config);
}

/** Checks a coordinator URL: http(s), no credentials, https unless loopback; returns it without a trailing slash. */
export function validateCoordinatorUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CrabboxError('invalid_config', `coordinator URL ${JSON.stringify(url.slice(0, 100))} is not a URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new CrabboxError('invalid_config', `coordinator URL must be http(s), got ${parsed.protocol}`);
  if (parsed.username || parsed.password) throw new CrabboxError('invalid_config', 'coordinator URL must not contain credentials; use `crabbox login --token-stdin`');
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname) || parsed.hostname.startsWith('127.');
  if (parsed.protocol === 'http:' && !loopback) throw new CrabboxError('invalid_config', `coordinator URL must use https (http is only allowed for loopback), got ${parsed.origin}`);
  return parsed.origin + parsed.pathname.replace(/\/+$/, '');
}

function safeUsername(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
