import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { printJson, renderTable, write, isoTime } from '../output.ts';
import type { LeaseFlags } from '../direct.ts';
import { leaseSession } from '../session.ts';
import { leaseJson } from '../../leases/record.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('list')
    .description('List your leases')
    .option('--provider <name>', 'provider: local, ssh, hetzner, aws')
    .action(async (flags: LeaseFlags) => {
      const { leases } = await leaseSession(ctx, flags);
      const all = await leases.list();
      const now = ctx.clock.now();
      if (ctx.json) return printJson(ctx.stdout, { leases: all.map((l) => leaseJson(l, now)) });
      if (all.length === 0) return ctx.info('no leases');
      write(ctx.stdout, renderTable(
        ['ID', 'SLUG', 'STATE', 'MACHINE', 'KEEP', 'EXPIRES'],
        all.map((l) => [l.id, l.slug, now >= l.expiresAt && l.state === 'active' ? 'expired' : l.state, l.machineStatus, l.keep ? 'yes' : 'no', isoTime(l.expiresAt)]),
      ));
    });
}
