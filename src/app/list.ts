import * as z from 'zod';
import { schemaId } from '../api/schema-id.ts';
import { providerName } from './inputs.ts';
import { leaseEntry } from './lease-json.ts';
import { leaseSession } from './session.ts';
import { useCase } from './usecase.ts';

export const list = useCase({
  name: 'list',
  description: 'List your live leases, newest first: id, slug, state, expiry and machine of each. Use it to find a warm box to reuse before leasing another.',
  input: z.strictObject({ provider: providerName }),
  output: () => import('../api/shapes.ts').then((m) => m.leaseListJson),
  annotations: { title: 'List leases', readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(ctx, input) {
    const { leases } = await leaseSession(ctx, input);
    const all = await leases.list();
    const now = ctx.clock.now();
    return { schema: schemaId('lease-list'), leases: all.map((l) => leaseEntry(l, now)) };
  },
});
