import * as z from 'zod';
import { schemaId } from '../api/schema-id.ts';
import type { StopJson, StopManyJson } from '../api/shapes-team.ts';
import { CrabboxError, isCrabboxError } from '../domain/errors.ts';
import { ExitCode } from '../domain/exit-codes.ts';
import { parseLeaseRef } from '../domain/ids.ts';
import type { ReleaseResult } from '../leases/service.ts';
import type { AppContext } from './context.ts';
import { explainError } from './explain.ts';
import { leaseRef, providerName } from './inputs.ts';
import { leaseSession } from './session.ts';
import { useCase } from './usecase.ts';

/** How releasing one ref ended: released (or already gone), or an error in the user's terms. */
export type StopOutcome = { ref: string; result: ReleaseResult } | { ref: string; error: Error };

/**
 * release: ends each distinct lease and deletes its box, in order, through one session. One ref's failure does not
 * stop the others; an already-gone lease is success.
 */
export async function stopLeases(ctx: AppContext, input: { leases: string[]; provider?: string | undefined }): Promise<StopOutcome[]> {
  for (const ref of input.leases) parseLeaseRef(ref); // refuse a hostile ref before anything runs or changes
  const unique = [...new Set(input.leases)];
  const { leases } = await leaseSession(ctx, { provider: input.provider });
  const outcomes: StopOutcome[] = [];
  for (const ref of unique) {
    try {
      outcomes.push({ ref, result: await leases.release(ref) });
    } catch (error) {
      outcomes.push({ ref, error: explainError(error) as Error });
    }
  }
  return outcomes;
}

export const exitCodeOf = (error: Error): number => (isCrabboxError(error) ? error.exitCode : ExitCode.internal);

/** One released lease in its `--json` shape (without the document's `schema`). */
export function stopEntry(result: ReleaseResult): Omit<StopJson, 'schema'> {
  return { id: result.leaseId, slug: result.slug ?? null, result: result.result };
}

/** `stop a b --json`: every ref's outcome. */
export function stopManyDocument(outcomes: StopOutcome[]): StopManyJson {
  return {
    schema: schemaId('stop-many'),
    results: outcomes.map((o) => ('result' in o
      ? stopEntry(o.result)
      : { ref: o.ref, error: isCrabboxError(o.error) ? o.error.code : 'internal', message: o.error.message, exitCode: exitCodeOf(o.error) })),
  };
}

export const stop = useCase({
  name: 'stop',
  description: 'Release a lease and delete its box. Safe to repeat: a lease that is already gone is success ("already-gone"). '
    + 'Call it when your task is done with a box from warmup (runs without a lease release their own box).',
  input: z.strictObject({ lease: leaseRef, provider: providerName }),
  output: () => import('../api/shapes-team.ts').then((m) => m.stopJson),
  annotations: { title: 'Release a lease', readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async run(ctx, input) {
    const [outcome] = await stopLeases(ctx, { leases: [input.lease], provider: input.provider });
    if (!outcome) throw new CrabboxError('bad_request', 'no lease given');
    if ('error' in outcome) throw outcome.error;
    return { schema: schemaId('stop'), ...stopEntry(outcome.result) };
  },
});
