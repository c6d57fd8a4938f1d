import * as z from 'zod';
import { schemaId } from '../api/schema-id.ts';
import { CrabboxError, isCrabboxError } from '../domain/errors.ts';
import { requireCoordinator } from './coordinator-session.ts';
import { useCase } from './usecase.ts';

/** The lease-state filters of everyone's lease lists (`admin leases --state`). */
export const LEASE_FILTERS = ['live', 'all', 'provisioning', 'active', 'released', 'expired', 'failed'] as const;

export const pool = useCase({
  name: 'pool',
  description: 'Maintainers and admins: the coordinator\'s warm pools (docs/pool.md): idle, assigned and provisioning machines per pool, '
    + 'the claims of the last hour with their latency, and whether refills back off. No lease, owner or connection detail.',
  input: z.strictObject({}),
  output: () => import('../api/shapes-team.ts').then((m) => m.poolJson),
  annotations: { title: 'Warm pools', readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(ctx) {
    const client = requireCoordinator(ctx, 'pool');
    let pools;
    try {
      ({ pools } = await client.call('pool', {}));
    } catch (error) {
      if (isCrabboxError(error) && error.code === 'forbidden') {
        throw new CrabboxError('forbidden', `\`crabbox pool\` is only for coordinator maintainers and admins: ${error.message}`, { hint: 'ask an admin to add you to maintainers, or check your role with `crabbox whoami`' });
      }
      throw error;
    }
    return {
      schema: schemaId('pool'),
      pools: pools.map((p) => ({
        ...p, class: p.class ?? null, type: p.type ?? null, backoffUntil: p.backoffUntil ?? null, blocked: p.blocked ?? null,
        claims: { lastHour: p.claims.lastHour, p50Ms: p.claims.p50Ms ?? null, p95Ms: p.claims.p95Ms ?? null, maxMs: p.claims.maxMs ?? null },
      })),
    };
  },
});
