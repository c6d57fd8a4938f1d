import type { MiddlewareHandler } from 'hono';
import { CrabboxError } from '../../domain/errors.ts';
import { parseLeaseRef } from '../../domain/ids.ts';
import { hasRole } from '../auth/identity.ts';
import type { AppEnv } from '../env.ts';
import { denied } from './auth.ts';

/**
 * Loads the lease named by `:ref` (id or slug) into c.var.lease. Someone else's lease answers exactly like a
 * missing one (404), so ids and slugs reveal nothing across owners.
 */
export function loadLease(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { store } = c.var.deps;
    const identity = c.var.identity;
    const admin = hasRole(identity, 'admin');
    const ref = parseLeaseRef(c.req.param('ref') ?? '');
    const lease = ref.kind === 'id' ? await store.getLease(ref.value) : await store.getLeaseBySlug(ref.value, admin ? undefined : identity.owner);
    // Made only when needed: an error captures a stack trace, which costs more than the lookup.
    const notFound = (): CrabboxError => new CrabboxError('lease_not_found', `no lease ${ref.value}`, { hint: 'run `crabbox list` to see your leases' });
    if (!lease) throw notFound();
    if (lease.owner !== identity.owner && !admin) {
      await denied(c, 'other-owner', identity);
      throw notFound();
    }
    c.set('lease', lease);
    await next();
  };
}
