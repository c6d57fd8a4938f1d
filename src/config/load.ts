import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { userInfo } from 'node:os';
import { CrabboxError } from '../domain/errors.ts';
import { checkIdleTimeout, checkTtl, DEFAULT_IDLE_SECONDS, DEFAULT_TTL_SECONDS, describeTimingProblem } from '../domain/lease-timing.ts';
import { formatHours, parseDuration } from '../domain/duration.ts';
import { registerSecret } from '../redact/redact.ts';
import { REPO_CONFIG_FILE, stateDir, userConfigPath } from './paths.ts';
import { readConfigFile } from './read.ts';
import type { Transport } from '../domain/transport.ts';
import { PROVIDERS, envPattern, repoConfigSchema, userConfigSchema, type RepoConfigFile, type UserConfigFile } from './schema.ts';

export { describeIssue, readConfigFile } from './read.ts';

/** Where a setting came from; `user+repo` for lists and maps both files add to. */
export type Source = 'default' | 'user' | 'repo' | 'user+repo' | 'env' | 'flag';

/** The resolved, validated, frozen configuration every command works from. */
export interface Config {
  provider: (typeof PROVIDERS)[number];
  owner: string;
  org: string;
  coordinator?: { url: string; token?: string | undefined; tokenKind: 'shared' | 'user' } | undefined;
  lease: { ttlSeconds: number; idleTimeoutSeconds: number; keep: boolean; class?: string | undefined; type?: string | undefined };
  ssh: { port: number; fallbackPorts: number[]; connectTimeoutSeconds: number };
  /** The user's proxy for new leases (user config `proxy`; docs/tunnel.md); undefined: direct. */
  proxy?: Transport | undefined;
  sync: { exclude: string[]; warnFiles: number; maxFiles: number; warnBytes: number; maxBytes: number; deleteLimit: number; timeoutSeconds: number; gitDepth: number };
  env: { allow: string[] };
  run: { recordCommand: boolean; logTailBytes: number; junit: string[]; historyLimit: number };
  artifacts: { paths: string[]; onFailure: string[]; maxFiles: number; maxBytes: number };
  local: { workRoot?: string | undefined };
  static: UserConfigFile['static'];
  hetzner: UserConfigFile['hetzner'];
  aws: UserConfigFile['aws'];
  classes: UserConfigFile['classes'];
  paths: { userConfig: string; repoConfig?: string | undefined; repoRoot?: string | undefined; stateDir: string };
  /** Where each setting came from, keyed by its config-file key (`lease.ttl`), for `config show`. Unset settings have none. */
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

/** The source of a list or map both files add to. */
function merged(user: unknown, repo: unknown): Source {
  return user !== undefined && repo !== undefined ? 'user+repo' : repo !== undefined ? 'repo' : user !== undefined ? 'user' : 'default';
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

const TIMING_FLAGS = { ttl: '--ttl', idleTimeout: '--idle-timeout' } as const;
const TIMING_ENV = { ttl: 'CRABBOX_TTL', idleTimeout: 'CRABBOX_IDLE_TIMEOUT' } as const;

/** An explicit flag or env TTL / idle timeout checked by the lease timing rule, refused in the user's own terms. */
function checkTiming(field: 'ttl' | 'idleTimeout', seconds: number | undefined, from: 'flag' | 'env'): number | undefined {
  if (seconds === undefined) return undefined;
  const problem = field === 'ttl' ? checkTtl(seconds) : checkIdleTimeout(seconds);
  if (!problem) return seconds;
  const name = (from === 'flag' ? TIMING_FLAGS : TIMING_ENV)[field];
  throw new CrabboxError(from === 'flag' ? 'bad_request' : 'invalid_config', describeTimingProblem(problem, { ttl: name, idleTimeout: name, style: 'duration' }));
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
  const coordinatorUrl = pick<string | undefined>('coordinator.url', [['flag', flags.coordinator], ['env', env.CRABBOX_COORDINATOR || undefined], ['user', user.coordinator?.url]], undefined);
  const envToken = env.CRABBOX_COORDINATOR_TOKEN || undefined;
  const token = envToken ?? user.coordinator?.token;
  registerSecret(token);
  if (token !== undefined) sources['coordinator.token'] = envToken ? 'env' : 'user';
  if (coordinatorUrl) sources['coordinator.tokenKind'] = envToken ? 'env' : user.coordinator?.tokenKind ? 'user' : 'default';
  const coordinator = coordinatorUrl
    ? { url: validateCoordinatorUrl(coordinatorUrl), token, tokenKind: envToken ? ('shared' as const) : (user.coordinator?.tokenKind ?? 'shared') }
    : undefined;

  const ttlSeconds = pick('lease.ttl', [['flag', checkTiming('ttl', parseFlagDuration(flags.ttl, 'ttl'), 'flag')], ['env', checkTiming('ttl', parseEnvDuration(env, 'CRABBOX_TTL'), 'env')], ['repo', repo.lease?.ttl], ['user', user.lease?.ttl]], DEFAULT_TTL_SECONDS);
  const idleTimeoutSeconds = pick('lease.idleTimeout', [['flag', checkTiming('idleTimeout', parseFlagDuration(flags.idleTimeout, 'idle-timeout'), 'flag')], ['env', checkTiming('idleTimeout', parseEnvDuration(env, 'CRABBOX_IDLE_TIMEOUT'), 'env')], ['repo', repo.lease?.idleTimeout], ['user', user.lease?.idleTimeout]], DEFAULT_IDLE_SECONDS);
  // The lease timing rule: an explicit idle timeout longer than the TTL is refused; the default one shrinks to the TTL.
  if (sources['lease.idleTimeout'] !== 'default' && idleTimeoutSeconds > ttlSeconds) {
    const where = (key: 'ttl' | 'idleTimeout'): string => {
      const source = sources[`lease.${key}`];
      return source === 'flag' ? TIMING_FLAGS[key] : source === 'env' ? TIMING_ENV[key] : source === 'default' ? 'the default' : `lease.${key} in ${source === 'repo' ? repoPath : userPath}`;
    };
    const flagged = sources['lease.ttl'] === 'flag' || sources['lease.idleTimeout'] === 'flag';
    throw new CrabboxError(flagged ? 'bad_request' : 'invalid_config', `${where('idleTimeout')} ${formatHours(idleTimeoutSeconds)} is longer than the TTL (${formatHours(ttlSeconds)}, from ${where('ttl')}); the idle timeout must be at most the TTL`);
  }
  const keep = pick('lease.keep', [['flag', flags.keep], ['repo', repo.lease?.keep], ['user', user.lease?.keep]], false);
  const leaseClass = pick<string | undefined>('lease.class', [['flag', flags.class], ['repo', repo.lease?.class], ['user', user.lease?.class]], undefined);
  const leaseType = pick<string | undefined>('lease.type', [['flag', flags.type], ['repo', repo.lease?.type], ['user', user.lease?.type]], undefined);

  const envAllowOverride = envList(env.CRABBOX_ENV_ALLOW);
  for (const name of envAllowOverride ?? []) {
    if (!envPattern.safeParse(name).success) throw new CrabboxError('invalid_config', `CRABBOX_ENV_ALLOW: ${JSON.stringify(name)} is not an env name or PREFIX_* pattern (a bare * is not allowed)`);
  }
  const allow = envAllowOverride ?? [...new Set(['CI', 'NODE_OPTIONS', ...(user.env?.allow ?? []), ...(repo.env?.allow ?? [])])];
  sources['env.allow'] = envAllowOverride ? 'env' : merged(user.env?.allow, repo.env?.allow);

  const fallbackEnv = envList(env.CRABBOX_SSH_FALLBACK_PORTS)?.map((p) => {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new CrabboxError('invalid_config', `CRABBOX_SSH_FALLBACK_PORTS: ${JSON.stringify(p)} is not a port`);
    return n;
  });

  /** A setting only the files (repo over user) or the default decide. */
  const file = <T>(section: string, key: string, r: T | undefined, u: T | undefined, fallback: T): T => pick(`${section}.${key}`, [['repo', r], ['user', u]], fallback);
  const userOnly = <T>(key: string, u: T | undefined): T | undefined => {
    if (u !== undefined) sources[key] = 'user';
    return u;
  };
  const syncExclude = [...(user.sync?.exclude ?? []), ...(repo.sync?.exclude ?? [])];
  sources['sync.exclude'] = merged(user.sync?.exclude, repo.sync?.exclude);
  const classes = { ...(user.classes ?? {}), ...(repo.classes ?? {}) };
  sources.classes = merged(user.classes, repo.classes);

  const config: Config = {
    provider,
    owner,
    org,
    coordinator,
    lease: { ttlSeconds, idleTimeoutSeconds: Math.min(idleTimeoutSeconds, ttlSeconds), keep, class: leaseClass, type: leaseType },
    ssh: {
      port: file('ssh', 'port', repo.ssh?.port, user.ssh?.port, 2222),
      fallbackPorts: pick('ssh.fallbackPorts', [['env', fallbackEnv], ['repo', repo.ssh?.fallbackPorts], ['user', user.ssh?.fallbackPorts]], [22]),
      connectTimeoutSeconds: file('ssh', 'connectTimeout', repo.ssh?.connectTimeout, user.ssh?.connectTimeout, 10),
    },
    sync: {
      exclude: syncExclude,
      warnFiles: file('sync', 'warnFiles', repo.sync?.warnFiles, user.sync?.warnFiles, 20_000),
      maxFiles: file('sync', 'maxFiles', repo.sync?.maxFiles, user.sync?.maxFiles, 150_000),
      warnBytes: file('sync', 'warnBytes', repo.sync?.warnBytes, user.sync?.warnBytes, 2 * 1024 ** 3),
      maxBytes: file('sync', 'maxBytes', repo.sync?.maxBytes, user.sync?.maxBytes, 20 * 1024 ** 3),
      deleteLimit: file('sync', 'deleteLimit', repo.sync?.deleteLimit, user.sync?.deleteLimit, 500),
      timeoutSeconds: file('sync', 'timeout', repo.sync?.timeout, user.sync?.timeout, 30 * 60),
      gitDepth: file('sync', 'gitDepth', repo.sync?.gitDepth, user.sync?.gitDepth, 1),
    },
    env: { allow },
    run: {
      recordCommand: file('run', 'recordCommand', repo.run?.recordCommand, user.run?.recordCommand, true),
      logTailBytes: file('run', 'logTail', repo.run?.logTail, user.run?.logTail, 64 * 1024),
      junit: file('run', 'junit', repo.run?.junit, user.run?.junit, []),
      historyLimit: pick('run.historyLimit', [['user', user.run?.historyLimit]], 500),
    },
    artifacts: {
      paths: file('artifacts', 'paths', repo.artifacts?.paths, user.artifacts?.paths, []),
      onFailure: file('artifacts', 'onFailure', repo.artifacts?.onFailure, user.artifacts?.onFailure, []),
      maxFiles: file('artifacts', 'maxFiles', repo.artifacts?.maxFiles, user.artifacts?.maxFiles, 10_000),
      maxBytes: file('artifacts', 'maxBytes', repo.artifacts?.maxBytes, user.artifacts?.maxBytes, 1024 ** 3),
    },
    proxy: proxyFrom(userOnly('proxy', user.proxy)),
    local: { workRoot: userOnly('local.workRoot', user.local?.workRoot) },
    static: userOnly('static', user.static),
    hetzner: userOnly('hetzner', user.hetzner),
    aws: userOnly('aws', user.aws),
    classes,
    paths: { userConfig: userPath, repoConfig: repoPath, repoRoot, stateDir: stateDir(env) },
    sources,
  };
  return deepFreeze(config);
}

/** The user config's `proxy` section as a transport. */
function proxyFrom(proxy: UserConfigFile['proxy']): Transport | undefined {
  if (proxy?.command) return { kind: 'proxy-command', command: proxy.command };
  if (proxy?.jump) return { kind: 'proxy-jump', jump: proxy.jump };
  return undefined;
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
