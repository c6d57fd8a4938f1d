import * as z from 'zod';
import { leaseSettings } from './inputs.ts';
import { leaseDocument } from './lease-json.ts';
import { leaseSession } from './session.ts';
import { useCase } from './usecase.ts';

/** acquire: lease a box and keep it for a loop of runs. */
export const warmup = useCase({
  name: 'warmup',
  description: 'Lease a fresh Linux box and keep it warm, so several runs reuse it (sync then only sends what changed). '
    + 'Use once per task, pass the returned slug as `lease` to `run`, and call `stop` when the task is done. Returns the lease: id, slug, expiry, machine.',
  input: z.strictObject(leaseSettings),
  output: () => import('../api/shapes.ts').then((m) => m.leaseJson),
  annotations: { title: 'Lease a box', readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run(ctx, input) {
    const { leases } = await leaseSession(ctx, input);
    const { lease } = await leases.create({ signal: ctx.signal });
    return leaseDocument(lease, ctx.clock.now());
  },
});
