import * as z from 'zod';
import { schemaId } from '../api/schema-id.ts';
import { parseLeaseRef } from '../domain/ids.ts';
import { RUN_STATES } from '../runs/record.ts';
import { historyEntry } from '../runs/json.ts';
import { listRemoteRuns } from '../runs/remote-history.ts';
import { leaseRef } from './inputs.ts';
import { openRunStore } from './run-store.ts';
import { maybeCoordinator } from './coordinator-session.ts';
import { useCase } from './usecase.ts';

export const history = useCase({
  name: 'history',
  description: 'List your recent runs, newest first (from the coordinator in brokered mode): run id, lease, state, exit code, timings, JUnit counts. Filter by lease or state.',
  input: z.strictObject({
    lease: leaseRef.optional(),
    state: z.enum(RUN_STATES).optional().describe('Only runs in this state'),
    limit: z.number().int().min(1).max(10_000).default(20).describe('At most this many runs (default 20)'),
  }),
  output: () => import('../api/shapes.ts').then((m) => m.historyJson),
  annotations: { title: 'Run history', readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(ctx, input) {
    const ref = input.lease === undefined ? undefined : parseLeaseRef(input.lease);
    const { client } = maybeCoordinator(ctx);
    const runs = client
      ? await listRemoteRuns(client, { lease: input.lease, state: input.state, limit: input.limit })
      : openRunStore(ctx).list({ state: input.state, limit: input.limit, leaseId: ref?.kind === 'id' ? ref.value : undefined, slug: ref?.kind === 'slug' ? ref.value : undefined });
    return { schema: schemaId('history'), runs: runs.map(historyEntry) };
  },
});
