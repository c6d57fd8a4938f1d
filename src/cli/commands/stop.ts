import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { parseLeaseRef } from '../../domain/ids.ts';
import { printJson, write } from '../output.ts';
import type { LeaseFlags } from '../direct.ts';
import { leaseSession } from '../session.ts';

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
        write(ctx.stdout, result.result === 'released' ? `released ${result.leaseId} (${result.slug})\n` : `${result.leaseId} is already gone\n`);
      });
  }
}
