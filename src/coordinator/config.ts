import * as z from 'zod';
import { DEFAULT_IDLE_SECONDS, DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS } from '../domain/lease.ts';
import { byteSize, durationSeconds } from '../config/schema.ts';
import { CrabboxError } from '../domain/errors.ts';
import { USER_TOKEN_MAX_LIFETIME_SECONDS } from '../auth/user-token.ts';
import type { TrustedProxy } from './source-address.ts';
import type { PoolConfig } from './pool/config.ts';
import type { SshCaConfig } from './ssh-ca.ts';
import type { SshHostCaConfig } from './host-ca.ts';

/** Coordinator settings. Secrets (shared token, session secret) are never part of the file schema: env or *_FILE only. */

const cap = z.number().nonnegative().optional();
const capSet = z.strictObject({ global: cap, owner: cap, org: cap }).partial();
const identityList = z.array(z.string().min(1).max(200)).max(1000);
const githubName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,38}$/, 'expected a GitHub organization name');
/** `org/team-slug`. */
export const teamRef = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[a-z0-9][a-z0-9_-]{0,99}$/i, 'expected org/team-slug');

const cfId = z.string().regex(/^[0-9a-f]{32}$/, 'expected a 32-character Cloudflare id (the dashboard shows it)');
const tunnelFileSchema = z.strictObject({
  accountId: cfId,
  zoneId: cfId,
  /** Boxes get `<machine>.<domain>`; the domain must be in the zone. */
  domain: z.string().regex(/^(?=.{1,200}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'expected a DNS name inside the zone, such as boxes.example.com'),
  providers: z.array(z.enum(['hetzner', 'aws'])).min(1),
  /** Who the Access policy lets in: the lease owner (an email identity) or everyone of `emailDomain`. */
  allow: z.enum(['owner', 'org']),
  emailDomain: z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,63}$/, 'expected an email domain such as example.com'),
  sshPort: z.number().int().min(1).max(65535),
  apiUrl: z.url(),
}).partial({ allow: true, emailDomain: true, sshPort: true, apiUrl: true });

export const coordinatorFileSchema = z.strictObject({
  host: z.string().min(1).max(255),
  port: z.number().int().min(0).max(65535),
  database: z.string().min(1),
  installation: z.string().regex(/^[a-z0-9][a-z0-9-]{2,40}$/),
  defaultProvider: z.string().regex(/^[a-z0-9-]{1,32}$/),
  admins: identityList,
  maintainers: identityList,
  /** The role the shared operator token acts with. Owner headers it sends never grant more. */
  sharedTokenRole: z.enum(['user', 'maintainer', 'admin']),
  caps: z.strictObject({ activeLeases: capSet, monthlySpend: capSet }).partial(),
  /** USD per hour by `provider/type` or `provider`. */
  prices: z.record(z.string().regex(/^[a-z0-9-]+(\/[A-Za-z0-9.-]+)?$/), z.number().nonnegative()),
  fallbackHourlyPrice: z.number().nonnegative(),
  lease: z.strictObject({ defaultTtl: durationSeconds, maxTtl: durationSeconds, defaultIdle: durationSeconds }).partial(),
  retention: durationSeconds,
  logTailBytes: byteSize,
  recordCommand: z.boolean(),
  sweepInterval: durationSeconds,
  orphanSweepInterval: durationSeconds,
  orphanSafetyWindow: durationSeconds,
  /** The URL browsers reach this coordinator at (the GitHub OAuth callback is <publicUrl>/v1/login/callback). */
  publicUrl: z.url(),
  github: z.strictObject({ clientId: z.string().min(1).max(200), orgs: z.array(githubName).max(50), teams: z.array(teamRef).max(100), webUrl: z.url(), apiUrl: z.url() }).partial(),
  userTokenTtl: durationSeconds,
  access: z.strictObject({ teamDomain: z.string().min(1).max(255), audience: z.string().min(1).max(200), jwksUrl: z.url() }).partial(),
  /** A reverse proxy whose client-address header is believed, only from its own addresses (docs/coordinator.md). */
  trustedProxy: z.strictObject({ header: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'expected an HTTP header name such as CF-Connecting-IP'), from: z.array(z.string().min(1).max(60)).min(1).max(200) }),
  /** Warm pools by name (checked by pool/config.ts parsePools, which names each key as the file spells it). */
  pools: z.unknown(),
  /** The SSH user CA's public settings; its signing key is a secret (CRABBOX_SSH_CA_KEY(_FILE), docs/ssh-ca.md). */
  sshCa: z.strictObject({ alsoTrust: z.string().max(400) }).partial(),
  /** Tunnel mode (docs/tunnel.md): boxes of these providers get a Cloudflare Tunnel and no inbound SSH. */
  tunnel: tunnelFileSchema,
  /** Machine classes whose cold leases' users get sudo on their own box (decision 0060); pools say it per pool. */
  sudo: z.strictObject({ classes: z.array(z.string().regex(/^[a-z0-9-]{1,32}$/, 'expected a machine class name such as fast')).max(50) }).partial(),
}).partial();
export type CoordinatorFileConfig = z.infer<typeof coordinatorFileSchema>;

export interface CapSet {
  global?: number | undefined;
  owner?: number | undefined;
  org?: number | undefined;
}

export interface CoordinatorConfig {
  installation: string;
  defaultProvider: string;
  auth: {
    sharedToken?: string | undefined;
    sessionSecret?: string | undefined;
    admins: string[];
    maintainers: string[];
    sharedTokenRole: 'user' | 'maintainer' | 'admin';
  };
  caps: { activeLeases: CapSet; monthlySpend: CapSet };
  prices: Record<string, number>;
  fallbackHourlyPrice: number;
  lease: { defaultTtlSeconds: number; maxTtlSeconds: number; defaultIdleSeconds: number };
  retentionSeconds: number;
  logTailBytes: number;
  recordCommand: boolean;
  sweepIntervalSeconds: number;
  orphanSweepIntervalSeconds: number;
  orphanSafetyWindowSeconds: number;
  /** Heartbeat events are logged at most this often per lease. */
  heartbeatEventEverySeconds: number;
  login: LoginConfig;
  /** Cloudflare Access in front of the coordinator: every /v1 request but health must carry a valid Access JWT. */
  access?: AccessConfig | undefined;
  /** Client addresses come from this proxy's header, for requests from its CIDRs only (source-address.ts). */
  trustedProxy?: TrustedProxy | undefined;
  /** Warm pools (docs/pool.md); empty: every lease gets a cold machine of its own. */
  pools: PoolConfig[];
  /** The SSH user CA (docs/ssh-ca.md); without it boxes take per-lease keys. */
  sshCa?: SshCaConfig | undefined;
  /** The SSH host CA (docs/ssh-ca.md): machines then present host certificates; without it host keys are pinned. */
  sshHostCa?: SshHostCaConfig | undefined;
  /** Tunnel mode (docs/tunnel.md); undefined: every box is reached directly. */
  tunnel?: TunnelConfig | undefined;
  /**
   * Sudo for lease users, decided here and never by a request or a repo config (decision 0060): a cold lease of one
   * of these classes gets sudo on its own box where the provider can grant it (`capabilities.leaseSudo`). Pools say
   * it per pool (`pools.<name>.sudo`); static hosts per host entry.
   */
  sudo: { classes: string[] };
}

export interface TunnelConfig {
  accountId: string;
  zoneId: string;
  domain: string;
  providers: string[];
  allow: { kind: 'owner' } | { kind: 'org'; emailDomain: string };
  /** The box's sshd port the tunnel routes to (the providers' first SSH port). */
  sshPort: number;
  /** The Cloudflare API token (a secret: CLOUDFLARE_API_TOKEN or CLOUDFLARE_API_TOKEN_FILE, never the file). */
  apiToken: string;
  apiUrl?: string | undefined;
}

/** GitHub browser login. Without `github` the login routes answer 404-like "not configured" errors. */
export interface LoginConfig {
  publicUrl?: string | undefined;
  github?: GitHubLoginConfig | undefined;
  userTokenTtlSeconds: number;
  maxPending: number;
  maxPendingPerSource: number;
}

export interface GitHubLoginConfig {
  clientId: string;
  clientSecret: string;
  webUrl: string;
  apiUrl: string;
  /** Active membership in at least one is required (compared case-insensitively). */
  orgs: string[];
  /** `org/team-slug`; when any is listed, active membership in at least one is also required. */
  teams: string[];
}

export interface AccessConfig {
  /** e.g. `acme.cloudflareaccess.com`; the JWT issuer must be https://<teamDomain>. */
  teamDomain: string;
  /** The Access application's AUD tag. */
  audience: string;
  /** Defaults to https://<teamDomain>/cdn-cgi/access/certs. */
  jwksUrl: string;
}

export const DEFAULT_USER_TOKEN_TTL_SECONDS = 30 * 86_400;

/** A complete config from partial settings; defaults are safe (no auth configured = everything but health is 401). */
export function coordinatorConfig(input: Partial<Omit<CoordinatorConfig, 'auth' | 'lease' | 'caps' | 'login'>> & {
  login?: Partial<LoginConfig>;
  auth?: Partial<CoordinatorConfig['auth']>;
  lease?: Partial<CoordinatorConfig['lease']>;
  caps?: Partial<CoordinatorConfig['caps']>;
} = {}): CoordinatorConfig {
  const maxTtlSeconds = Math.min(input.lease?.maxTtlSeconds ?? MAX_TTL_SECONDS, MAX_TTL_SECONDS);
  const config: CoordinatorConfig = {
    installation: input.installation ?? 'crabbox',
    defaultProvider: input.defaultProvider ?? 'local',
    auth: { admins: [], maintainers: [], sharedTokenRole: 'user', ...input.auth },
    caps: { activeLeases: {}, monthlySpend: {}, ...input.caps },
    prices: input.prices ?? {},
    fallbackHourlyPrice: input.fallbackHourlyPrice ?? 0.1,
    lease: {
      defaultTtlSeconds: Math.min(input.lease?.defaultTtlSeconds ?? DEFAULT_TTL_SECONDS, maxTtlSeconds),
      maxTtlSeconds,
      defaultIdleSeconds: input.lease?.defaultIdleSeconds ?? DEFAULT_IDLE_SECONDS,
    },
    retentionSeconds: input.retentionSeconds ?? 30 * 86_400,
    logTailBytes: Math.min(input.logTailBytes ?? 64 * 1024, 1024 * 1024),
    recordCommand: input.recordCommand ?? true,
    sweepIntervalSeconds: input.sweepIntervalSeconds ?? 30,
    orphanSweepIntervalSeconds: input.orphanSweepIntervalSeconds ?? 600,
    orphanSafetyWindowSeconds: input.orphanSafetyWindowSeconds ?? 30 * 60,
    heartbeatEventEverySeconds: input.heartbeatEventEverySeconds ?? 600,
    login: { userTokenTtlSeconds: DEFAULT_USER_TOKEN_TTL_SECONDS, maxPending: 1000, maxPendingPerSource: 10, ...input.login },
    access: input.access,
    trustedProxy: input.trustedProxy,
    pools: input.pools ?? [],
    sshCa: input.sshCa,
    sshHostCa: input.sshHostCa,
    tunnel: input.tunnel,
    sudo: { classes: input.sudo?.classes ?? [] },
  };
  validateSecrets(config);
  return config;
}

/** Refuses configs whose secrets would weaken each other. */
export function validateSecrets(config: CoordinatorConfig): void {
  const { sharedToken, sessionSecret } = config.auth;
  if (sharedToken !== undefined && sharedToken.length < 16) throw new CrabboxError('invalid_config', 'the shared token must be at least 16 characters');
  if (sessionSecret !== undefined && sessionSecret.length < 32) throw new CrabboxError('invalid_config', 'the session secret must be at least 32 characters');
  if (sharedToken !== undefined && sharedToken === sessionSecret) throw new CrabboxError('invalid_config', 'the session secret must differ from the shared token');
  const { github, userTokenTtlSeconds } = config.login;
  if (github) {
    if (!sessionSecret) throw new CrabboxError('invalid_config', 'GitHub login needs a session secret to sign user tokens', { hint: 'set CRABBOX_SESSION_SECRET (or CRABBOX_SESSION_SECRET_FILE)' });
    if (github.orgs.length === 0) throw new CrabboxError('invalid_config', 'GitHub login needs at least one allowed organization', { hint: 'set github.orgs or CRABBOX_GITHUB_ORGS' });
    if (!config.login.publicUrl) throw new CrabboxError('invalid_config', 'GitHub login needs the public URL browsers reach the coordinator at', { hint: 'set publicUrl or CRABBOX_PUBLIC_URL' });
    const orgs = new Set(github.orgs.map((o) => o.toLowerCase()));
    const stray = github.teams.find((t) => !orgs.has(t.split('/')[0]!.toLowerCase()));
    if (stray) throw new CrabboxError('invalid_config', `team ${stray} is not in an allowed organization`);
  }
  if (userTokenTtlSeconds < 60 || userTokenTtlSeconds > USER_TOKEN_MAX_LIFETIME_SECONDS) throw new CrabboxError('invalid_config', 'the user token lifetime must be between 1 minute and 366 days');
}

/**
 * The classes `sudo.classes` names that the coordinator's class table does not know: a typo there would grant
 * nothing and say nothing, so `serve` refuses it at start (exit 78).
 */
export function unknownSudoClasses(sudoClasses: readonly string[], known: readonly string[]): string[] {
  return sudoClasses.filter((name) => !known.includes(name));
}
