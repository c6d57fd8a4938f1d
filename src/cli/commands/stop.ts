import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { parseLeaseRef } from '../../domain/ids.ts';
import { printJson, write } from '../output.ts';
import type { LeaseFlags } from '../direct.ts';
import { leaseSession } from '../session.ts';
import type { ReleaseResult } from '../../leases/service.ts';

export function register(program: Command, ctx: CliContext): void {
  for (const name of ['stop', 'release']) {
    program
      .command(name)
      .description('Release a lease and delete its box (an already-gone lease is success)')
      .argument('<ref>', 'lease id or slug')
      .option('--provider <name>', 'provider: local, ssh, hetzner, aws')
      .action(async (ref: string, flags: LeaseFlags) => {
        parseLeaseRef(ref); // refuse a hostile ref before anything runs or changes
        const { leases } = await leaseSession(ctx, flags);
        const result = await leases.release(ref);
        if (ctx.json) return printJson(ctx.stdout, { id: result.leaseId, slug: result.slug ?? null, result: result.result });
        write(ctx.stdout, `${stopMessage(result)}\n`);
      });
  }
}

/**
 * What `stop` says. A lease we could not see (already released, never ours, or unknown) gets a message that claims
 * nothing about it beyond "none of yours is live": the id may belong to someone else.
 */
function stopMessage(result: ReleaseResult): string {
  if (result.result === 'released') return `released ${result.leaseId} (${result.slug})`;
  if (result.slug === undefined) return `no lease ${result.leaseId} of yours is live; nothing to release`;
  return `${result.leaseId} (${result.slug}) is already released; nothing to release`;
}
