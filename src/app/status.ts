import * as z from 'zod';
import { endedLeaseError } from '../domain/ended.ts';
import { parseLeaseRef } from '../domain/ids.ts';
import { leaseRef, providerName } from './inputs.ts';
import { leaseDocument } from './lease-json.ts';
import { leaseSession } from './session.ts';
import { useCase } from './usecase.ts';

export const status = useCase({
  name: 'status',
  description: 'Show one lease by id or slug: state, expiry, machine. With waitSeconds, first wait (up to that long) until its box answers ssh and has finished bootstrapping.',
  input: z.strictObject({
    lease: leaseRef,
    provider: providerName,
    waitSeconds: z.number().int().min(1).max(3600).optional().describe('Wait up to this many seconds for the box to be ready'),
  }),
  output: () => import('../api/shapes.ts').then((m) => m.leaseJson),
  annotations: { title: 'Show a lease', readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(ctx, input) {
    parseLeaseRef(input.lease); // refuse a hostile ref before anything runs or changes
    const { leases } = await leaseSession(ctx, input);
    const lease = await leases.resolve(input.lease);
    if (input.waitSeconds === undefined) return leaseDocument(lease, ctx.clock.now());
    if (lease.state !== 'active' && lease.state !== 'provisioning') throw endedLeaseError(lease, ctx.clock.now());
    await leases.waitReady(lease, ctx.clock.now() + input.waitSeconds * 1000, { log: ctx.debug, signal: ctx.signal });
    return leaseDocument(lease, ctx.clock.now(), { ready: true });
  },
});
