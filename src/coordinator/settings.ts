import { parseDuration } from '../domain/duration.ts';
import { CrabboxError } from '../domain/errors.ts';
import { parseCidr } from '../net/cidr.ts';
import { coordinatorConfig, teamRef, type AccessConfig, type CoordinatorConfig, type CoordinatorFileConfig, type LoginConfig, type TunnelConfig } from './config.ts';
import { parsePools } from './pool/config.ts';
import { sshCaConfig } from './ssh-ca.ts';
import { sshHostCaConfig } from './host-ca.ts';
import type { TrustedProxy } from './source-address.ts';

/**
 * The coordinator's config from env-style settings and a file-shaped object, with no runtime of its own: the Node
 * entry reads the YAML file and secret files (load-config.ts), the Worker reads its bindings (entry/worker-config.ts).
 */

export type SettingsEnv = Record<string, string | undefined>;
/** Reads one secret by its env name (NAME, or NAME_FILE on Node); undefined when unset. */
export type SecretReader = (name: string) => string | undefined;

export const list = (value: string | undefined): string[] | undefined => (value === undefined ? undefined : value.split(',').map((s) => s.trim()).filter(Boolean));

/** GitHub login settings: enabled when a client id is set (env or file); the client secret comes only from env. */
function loginSettings(env: SettingsEnv, file: CoordinatorFileConfig, secret: SecretReader): Partial<LoginConfig> {
  const ttlText = env.CRABBOX_USER_TOKEN_TTL;
  const login: Partial<LoginConfig> = {
    publicUrl: env.CRABBOX_PUBLIC_URL ?? file.publicUrl,
    ...(ttlText !== undefined || file.userTokenTtl !== undefined ? { userTokenTtlSeconds: ttlText !== undefined ? parseDuration(ttlText, 'CRABBOX_USER_TOKEN_TTL') : file.userTokenTtl! } : {}),
  };
  const clientId = env.CRABBOX_GITHUB_CLIENT_ID ?? file.github?.clientId;
  if (!clientId) return login;
  const clientSecret = secret('CRABBOX_GITHUB_CLIENT_SECRET');
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
function accessSettings(env: SettingsEnv, file: CoordinatorFileConfig): AccessConfig | undefined {
  const teamDomain = env.CRABBOX_ACCESS_TEAM_DOMAIN ?? file.access?.teamDomain;
  const audience = env.CRABBOX_ACCESS_AUDIENCE ?? file.access?.audience;
  if (!teamDomain && !audience) return undefined;
  if (!teamDomain || !audience) throw new CrabboxError('invalid_config', 'Cloudflare Access needs both a team domain and an audience (CRABBOX_ACCESS_TEAM_DOMAIN, CRABBOX_ACCESS_AUDIENCE)');
  if (!/^[a-z0-9.-]+$/i.test(teamDomain)) throw new CrabboxError('invalid_config', 'CRABBOX_ACCESS_TEAM_DOMAIN must be a host name such as acme.cloudflareaccess.com');
  return { teamDomain, audience, jwksUrl: env.CRABBOX_ACCESS_JWKS_URL ?? file.access?.jwksUrl ?? `https://${teamDomain}/cdn-cgi/access/certs` };
}

/** The trusted proxy: a header name and the CIDRs it is believed from, both or neither (env wins over the file). */
function trustedProxySettings(env: SettingsEnv, file: CoordinatorFileConfig): TrustedProxy | undefined {
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

/** Builds the coordinator config: env > file > defaults; secrets only through `secret`. */
export function coordinatorConfigFrom(env: SettingsEnv, file: CoordinatorFileConfig, secret: SecretReader, poolsWhere = 'pools'): CoordinatorConfig {
  const sshCa = sshCaConfig(secret('CRABBOX_SSH_CA_KEY'), env.CRABBOX_SSH_CA_ALSO_TRUST ?? file.sshCa?.alsoTrust);
  const config = coordinatorConfig({
    installation: env.CRABBOX_INSTALLATION ?? file.installation,
    defaultProvider: file.defaultProvider,
    auth: {
      sharedToken: secret('CRABBOX_SHARED_TOKEN'),
      sessionSecret: secret('CRABBOX_SESSION_SECRET'),
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
    login: loginSettings(env, file, secret),
    access: accessSettings(env, file),
    trustedProxy: trustedProxySettings(env, file),
    pools: parsePools(file.pools, poolsWhere),
    sshCa,
    sshHostCa: sshHostCaConfig(secret('CRABBOX_SSH_HOST_CA_KEY'), sshCa),
    tunnel: tunnelSettings(file, secret),
    sudo: { classes: file.sudo?.classes ?? [] },
  });
  // Warm pool machines are made and handed over without tunnels: a pool of a tunnel-mode provider would open SSH.
  const pooled = config.tunnel && config.pools.find((p) => config.tunnel!.providers.includes(p.provider));
  if (pooled) throw new CrabboxError('invalid_config', `pool ${pooled.name} serves ${pooled.provider}, which tunnel mode covers; warm pools do not run in tunnel mode yet (their boxes would listen for SSH)`, { hint: `remove the pool, or ${pooled.provider} from tunnel.providers` });
  return config;
}

/** Tunnel mode from the file's `tunnel` section and the Cloudflare API token secret; both or neither. */
function tunnelSettings(file: CoordinatorFileConfig, secret: SecretReader): TunnelConfig | undefined {
  const t = file.tunnel;
  const apiToken = secret('CLOUDFLARE_API_TOKEN');
  if (!t) return undefined;
  if (!apiToken) throw new CrabboxError('invalid_config', 'tunnel mode needs a Cloudflare API token', { hint: 'set CLOUDFLARE_API_TOKEN or CLOUDFLARE_API_TOKEN_FILE for the coordinator (docs/tunnel.md lists its permissions)' });
  if (t.allow === 'org' && !t.emailDomain) throw new CrabboxError('invalid_config', 'tunnel.allow org needs tunnel.emailDomain (the org\'s email domain the Access policy allows)');
  return {
    accountId: t.accountId, zoneId: t.zoneId, domain: t.domain, providers: t.providers,
    allow: t.allow === 'org' ? { kind: 'org', emailDomain: t.emailDomain! } : { kind: 'owner' },
    sshPort: t.sshPort ?? 2222, apiToken, ...(t.apiUrl ? { apiUrl: t.apiUrl } : {}),
  };
}
