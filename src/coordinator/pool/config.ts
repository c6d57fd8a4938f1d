import * as z from 'zod';
import { durationSeconds } from '../../config/schema.ts';
import { CrabboxError } from '../../domain/errors.ts';

/**
 * Warm pools in the coordinator config (`pools:`), one per provider and machine class: how many idle machines to keep,
 * how many at most, when a machine is replaced, who may draw from it and what a claim on an empty pool gets.
 */

const POOL_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;
const name = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'expected lowercase letters, digits and -, at most 32');

export const poolFileSchema = z.strictObject({
  provider: name,
  class: name.optional(),
  type: z.string().regex(/^[A-Za-z0-9.-]{1,64}$/, 'expected letters, digits, . and -, at most 64').optional(),
  min: z.number().int().min(0).max(1000),
  max: z.number().int().min(1).max(1000),
  maxAgeHours: z.number().positive().max(24 * 366).optional(),
  maxAssignments: z.number().int().min(1).max(1_000_000).optional(),
  /** Plain users may draw too (default: maintainers and admins only). */
  users: z.boolean().optional(),
  /** Scrubbed machines go back to idle (default); false deletes every machine after one lease. */
  reuse: z.boolean().optional(),
  onEmpty: z.enum(['cold', 'wait503']).optional(),
  /** The Retry-After a `wait503` answer names (default 30s). */
  retryAfter: durationSeconds.refine((s) => s >= 1 && s <= 3600, 'expected between 1s and 1h').optional(),
  /** USD per month this pool's machines may reserve (each reserves hourly price x maxAgeHours when it is made). */
  budget: z.number().nonnegative().optional(),
  /** Who may reach a cloud pool machine's SSH port (its firewall cannot follow each claimer's address). */
  sshCidrs: z.array(z.string().min(1).max(64)).max(50).optional(),
  /** Each lease user may sudo; its machine is then deleted after the lease, never reused (decision 0060). */
  sudo: z.boolean().optional(),
});
export type PoolFileConfig = z.infer<typeof poolFileSchema>;

export const poolsFileSchema = z.record(z.string(), z.unknown());

export type OnEmpty = 'cold' | 'wait503';

/** One pool, complete with its defaults. */
export interface PoolConfig {
  name: string;
  provider: string;
  class?: string | undefined;
  type?: string | undefined;
  min: number;
  max: number;
  maxAgeHours: number;
  maxAssignments: number;
  users: boolean;
  reuse: boolean;
  onEmpty: OnEmpty;
  retryAfterSeconds: number;
  budget?: number | undefined;
  sshCidrs?: string[] | undefined;
  /** Lease users get sudo; every machine is then deleted after its lease (`sudo-granted`). */
  sudo: boolean;
}

export const POOL_DEFAULTS = { maxAgeHours: 24, maxAssignments: 50, users: false, reuse: true, onEmpty: 'cold' as OnEmpty, retryAfterSeconds: 30, sudo: false };

const refuse = (message: string): never => {
  throw new CrabboxError('invalid_config', message, { hint: 'see docs/pool.md' });
};

/**
 * Reads `pools:` from the file (a map of pool name to settings) into complete pools; every problem is one line that
 * names the key as the file spells it (`pools.fast-hetzner.max: ...`).
 */
export function parsePools(raw: unknown, where = 'pools'): PoolConfig[] {
  if (raw === undefined || raw === null) return [];
  if (typeof raw !== 'object' || Array.isArray(raw)) refuse(`${where}: expected a map of pool name to its settings`);
  const pools: PoolConfig[] = [];
  const seen = new Map<string, string>();
  for (const [poolName, value] of Object.entries(raw as Record<string, unknown>)) {
    const at = `${where}.${poolName}`;
    if (!POOL_NAME.test(poolName)) refuse(`${where}: pool name ${JSON.stringify(poolName.slice(0, 40))}: expected lowercase letters, digits and -, at most 32`);
    const parsed = poolFileSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const key = issue?.path.join('.');
      refuse(`${at}${key ? `.${key}` : ''}: ${issue?.message ?? 'invalid'}`);
    }
    const p = parsed.data!;
    if (p.min > p.max) refuse(`${at}.min: ${p.min} is more than max (${p.max})`);
    const key = `${p.provider}/${p.class ?? ''}`;
    const other = seen.get(key);
    if (other) refuse(`${at}: pool ${other} already serves provider ${p.provider}${p.class ? ` class ${p.class}` : ' without a class'}; one pool per provider and class`);
    seen.set(key, poolName);
    pools.push({
      name: poolName,
      provider: p.provider,
      class: p.class,
      type: p.type,
      min: p.min,
      max: p.max,
      maxAgeHours: p.maxAgeHours ?? POOL_DEFAULTS.maxAgeHours,
      maxAssignments: p.maxAssignments ?? POOL_DEFAULTS.maxAssignments,
      users: p.users ?? POOL_DEFAULTS.users,
      reuse: p.reuse ?? POOL_DEFAULTS.reuse,
      onEmpty: p.onEmpty ?? POOL_DEFAULTS.onEmpty,
      retryAfterSeconds: p.retryAfter ?? POOL_DEFAULTS.retryAfterSeconds,
      budget: p.budget,
      sshCidrs: p.sshCidrs,
      sudo: p.sudo ?? POOL_DEFAULTS.sudo,
    });
  }
  return pools;
}

/** Pools with defaults from partial settings (tests and programmatic configs). */
export function poolConfig(input: Partial<PoolConfig> & Pick<PoolConfig, 'name' | 'provider' | 'min' | 'max'>): PoolConfig {
  return {
    maxAgeHours: POOL_DEFAULTS.maxAgeHours, maxAssignments: POOL_DEFAULTS.maxAssignments, users: POOL_DEFAULTS.users, reuse: POOL_DEFAULTS.reuse,
    onEmpty: POOL_DEFAULTS.onEmpty, retryAfterSeconds: POOL_DEFAULTS.retryAfterSeconds, sudo: POOL_DEFAULTS.sudo, ...input,
  };
}

/** The pool a claim draws from: by name, or the one for this provider and class. */
export function findPool(pools: readonly PoolConfig[], want: { name?: string | undefined; provider: string; class?: string | undefined }): PoolConfig | undefined {
  if (want.name !== undefined) return pools.find((p) => p.name === want.name);
  return pools.find((p) => p.provider === want.provider && (p.class ?? undefined) === (want.class ?? undefined));
}
