import * as z from 'zod';
import { schemaId } from '../api/shapes.ts';
import { poolJson } from '../api/shapes-team.ts';
import { CrabboxError, isCrabboxError } from '../domain/errors.ts';
import { leaseFromView } from '../leases/brokered.ts';
import { leaseEntry } from './lease-json.ts';
import { requireCoordinator } from './session.ts';
import { useCase } from './usecase.ts';

export const LEASE_FILTERS = ['live', 'all', 'provisioning', 'active', 'released', 'expired', 'failed'] as const;

export const pool = useCase({
  name: 'pool',
  description: 'Maintainers and admins: everyone\'s leases in the shared pool, with who holds them until when (no connection details).',
  input: z.strictObject({
    state: z.enum(LEASE_FILTERS).default('live').describe('Which leases (default: live ones)'),
    limit: z.number().int().min(1).max(500).default(100).describe('At most this many (default 100)'),
  }),
  output: poolJson,
  annotations: { title: 'Shared pool', readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(ctx, input) {
    const client = requireCoordinator(ctx, 'pool');
    let leases;
    try {
      ({ leases } = await client.call('pool', { query: { state: input.state, limit: input.limit } }));
    } catch (error) {
      if (isCrabboxError(error) && error.code === 'forbidden') {
        throw new CrabboxError('forbidden', `\`crabbox pool\` is only for coordinator maintainers and admins: ${error.message}`, { hint: 'ask an admin to add you to maintainers, or check your role with `crabbox whoami`' });
      }
      throw error;
    }
    const now = ctx.clock.now();
    // The pool shows no machine, so the type comes from the view itself.
    return { schema: schemaId('pool'), leases: leases.map((view) => {
      const lease = leaseFromView(view);
      return { ...leaseEntry(lease, now), org: lease.org, type: view.type ?? null };
    }) };
  },
});
