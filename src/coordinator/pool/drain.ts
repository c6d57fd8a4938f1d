import { CrabboxError } from '../../domain/errors.ts';
import { drainMove } from '../../domain/machine.ts';
import { audit } from '../audit.ts';
import type { CoordinatorDeps } from '../deps.ts';
import { drainMachine, undrainMachine } from '../machines/drain.ts';
import type { PoolConfig } from './config.ts';

/** The meta key that marks a pool drained: the reconciler refills it no more until it is undrained. */
export const poolDrainMeta = (pool: string): string => `pool-draining:${pool}`;

export async function isPoolDraining(store: Pick<CoordinatorDeps['store'], 'getMeta'>, pool: string): Promise<boolean> {
  return (await store.getMeta(poolDrainMeta(pool))) === '1';
}

export interface PoolDrainResult {
  pool: string;
  draining: boolean;
  /** Machines whose state this call changed (drained, or taken back from draining). */
  changed: number;
}

function configuredPool(deps: CoordinatorDeps, name: string): PoolConfig {
  const pool = deps.config.pools.find((p) => p.name === name);
  if (!pool) {
    const known = deps.config.pools.map((p) => p.name);
    throw new CrabboxError('not_found', `no warm pool ${name}`, { hint: known.length ? `configured pools: ${known.join(', ')}` : 'this coordinator has no warm pools' });
  }
  return pool;
}

/**
 * Admin: drain a whole warm pool. The mark is written first (a reconcile pass that starts afterwards creates nothing),
 * then every machine of the pool is drained as `admin drain <machine>` would: idle ones are deleted now, busy ones
 * serve their lease to the end and are deleted then, machines still being made are deleted when they are ready.
 * Repeating it changes nothing more.
 */
export async function drainPool(deps: CoordinatorDeps, name: string, actor: string): Promise<PoolDrainResult> {
  const pool = configuredPool(deps, name);
  const { store, clock } = deps;
  const already = await isPoolDraining(store, pool.name);
  if (!already) {
    await store.withTransaction(async (tx) => {
      await tx.setMeta(poolDrainMeta(pool.name), '1');
      await audit(tx, { type: 'pool.drained', at: clock.now(), actor, data: { pool: pool.name } });
    });
  }
  let changed = 0;
  for (const machine of await store.poolMachines(pool.name)) {
    if (!drainMove(machine).to) continue;
    if ((await drainMachine(deps, machine.id, actor)).changed) changed++;
  }
  return { pool: pool.name, draining: true, changed };
}

/** Admin: the pool is refilled again, and its machines still draining (not yet deleted) go back to what they were doing. */
export async function undrainPool(deps: CoordinatorDeps, name: string, actor: string): Promise<PoolDrainResult> {
  const pool = configuredPool(deps, name);
  const { store, clock } = deps;
  if (await isPoolDraining(store, pool.name)) {
    await store.withTransaction(async (tx) => {
      await tx.setMeta(poolDrainMeta(pool.name), '0');
      await audit(tx, { type: 'pool.undrained', at: clock.now(), actor, data: { pool: pool.name } });
    });
  }
  let changed = 0;
  for (const machine of await store.poolMachines(pool.name)) {
    if (machine.state !== 'draining') continue;
    // A machine that moved on to deleting meanwhile stays deleted (409 for one machine; here it is simply not counted).
    const result = await undrainMachine(deps, machine.id, actor).catch((error: unknown) => {
      if (error instanceof CrabboxError && error.code === 'conflict') return { changed: false };
      throw error;
    });
    if (result.changed) changed++;
  }
  return { pool: pool.name, draining: false, changed };
}
