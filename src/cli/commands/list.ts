import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { printJson, renderTable, write } from '../output.ts';
import { appContext } from '../app-context.ts';
import { list } from '../../app/list.ts';
import type { LeaseFlags } from '../../app/session.ts';
import { machineColumn } from './status.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('list')
    .description('List your leases')
    .option('--provider <name>', 'provider: local, ssh, hetzner, aws')
    .action(async (flags: LeaseFlags) => {
      const doc = await list.run(appContext(ctx), flags);
      if (ctx.json) return printJson(ctx.stdout, doc);
      if (doc.leases.length === 0) return ctx.info('no leases');
      const now = ctx.clock.now();
      write(ctx.stdout, renderTable(
        ['ID', 'SLUG', 'STATE', 'MACHINE', 'KEEP', 'EXPIRES'],
        doc.leases.map((l) => [l.id, l.slug, now >= Date.parse(l.expiresAt) && l.state === 'active' ? 'expired' : l.state, machineColumn(l), l.keep ? 'yes' : 'no', l.expiresAt]),
      ));
    });
}
