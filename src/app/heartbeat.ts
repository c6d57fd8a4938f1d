import * as z from 'zod';
import { CrabboxError } from '../domain/errors.ts';
import { parseLeaseRef } from '../domain/ids.ts';
import { checkIdleTimeout, describeTimingProblem, FLAG_NAMES } from '../domain/lease-timing.ts';
import { leaseRef, providerName } from './inputs.ts';
import { leaseDocument } from './lease-json.ts';
import { leaseSession } from './session.ts';
import { useCase } from './usecase.ts';

export const heartbeat = useCase({
  name: 'heartbeat',
  description: 'Touch a lease so it does not go idle (never past its TTL cap); optionally change its idle timeout. Runs touch their lease themselves.',
  input: z.strictObject({
    lease: leaseRef,
    provider: providerName,
    idleTimeoutSeconds: z.number().int().optional().describe('New idle timeout in seconds, 60 up to the lease TTL'),
  }),
  output: () => import('../api/shapes.ts').then((m) => m.leaseJson),
  annotations: { title: 'Touch a lease', readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(ctx, input) {
    parseLeaseRef(input.lease);
    const idle = input.idleTimeoutSeconds;
    const problem = idle === undefined ? undefined : checkIdleTimeout(idle);
    if (problem) throw new CrabboxError('bad_request', describeTimingProblem(problem, FLAG_NAMES));
    const { leases } = await leaseSession(ctx, { provider: input.provider });
    return leaseDocument(await leases.touch(input.lease, idle), ctx.clock.now());
  },
});
