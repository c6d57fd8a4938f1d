import type { Context, MiddlewareHandler } from 'hono';
import { CrabboxError } from '../../domain/errors.ts';
import { parseLeaseRef } from '../../domain/ids.ts';
import type { LeaseRecord } from '../../storage/store.ts';
import { hasRole } from '../auth/identity.ts';
import type { AppEnv } from '../env.ts';
import { denied } from './auth.ts';

/**
 * The lease a ref (id or slug) names for the caller. Someone else's lease answers exactly like a missing one (404),
 * so ids and slugs reveal nothing across owners; admins see every lease.
 */
export async function findLease(c: Context<AppEnv>, rawRef: string): Promise<LeaseRecord> {
  const { store } = c.var.deps;
  const identity = c.var.identity;
  const admin = hasRole(identity, 'admin');
  const ref = parseLeaseRef(rawRef);
  const lease = ref.kind === 'id' ? await store.getLease(ref.value) : await store.getLeaseBySlug(ref.value, admin ? undefined : identity.owner);
  // Made only when needed: an error captures a stack trace, which costs more than the lookup.
  const notFound = (): CrabboxError => new CrabboxError('lease_not_found', `no lease ${ref.value}`, { hint: 'run `crabbox list` to see your leases' });
  if (!lease) throw notFound();
  if (lease.owner !== identity.owner && !admin) {
    await denied(c, 'other-owner', identity);
    throw notFound();
  }
  return lease;
}

/** Loads the lease named by `:ref` into c.var.lease (see findLease). */
export function loadLease(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set('lease', await findLease(c, c.req.param('ref') ?? ''));
    await next();
  };
}
