import { z } from 'zod';
import { DEFAULT_IDLE_SECONDS, DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS } from '../domain/lease.ts';
import { byteSize, durationSeconds } from '../config/schema.ts';
import { CrabboxError } from '../domain/errors.ts';

/** Coordinator settings. Secrets (shared token, session secret) are never part of the file schema: env or *_FILE only. */

const cap = z.number().nonnegative().optional();
const capSet = z.strictObject({ global: cap, owner: cap, org: cap }).partial();
const identityList = z.array(z.string().min(1).max(200)).max(1000);

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
}

/** A complete config from partial settings; defaults are safe (no auth configured = everything but health is 401). */
export function coordinatorConfig(input: Partial<Omit<CoordinatorConfig, 'auth' | 'lease' | 'caps'>> & {
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
}
