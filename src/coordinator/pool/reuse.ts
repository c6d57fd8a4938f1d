import type { PoolConfig } from './config.ts';
import { wornOut } from './plan.ts';

export type ReuseVerdict = { reuse: true } | { reuse: false; reason: 'not-pooled' | 'sudo-granted' | 'pool-removed' | 'reuse-off' | 'env-forwarded' | 'max-age' | 'max-assignments' };

/**
 * Whether a pool machine goes back to the pool after its lease (scrubbed first) or is deleted: never when the lease's
 * user had sudo (root could have changed anything on the machine, decision 0060), never when the lease forwarded env values (prefer fresh machines for runs that carried secrets), when the pool says `reuse: false` or is
 * gone from the config, or when the machine has reached its age or assignment limit.
 */
export function reuseVerdict(input: {
  machine: { pool?: string | undefined; createdAt: number; assignments: number };
  lease: { envForwarded: boolean; sudo?: boolean | undefined };
  pools: readonly PoolConfig[];
  now: number;
}): ReuseVerdict {
  const { machine } = input;
  if (!machine.pool) return { reuse: false, reason: 'not-pooled' };
  if (input.lease.sudo) return { reuse: false, reason: 'sudo-granted' };
  const pool = input.pools.find((p) => p.name === machine.pool);
  if (!pool) return { reuse: false, reason: 'pool-removed' };
  if (!pool.reuse) return { reuse: false, reason: 'reuse-off' };
  if (input.lease.envForwarded) return { reuse: false, reason: 'env-forwarded' };
  const worn = wornOut({ id: '', state: 'assigned', createdAt: machine.createdAt, assignments: machine.assignments }, pool, input.now);
  return worn ? { reuse: false, reason: worn } : { reuse: true };
}
