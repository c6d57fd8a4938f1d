import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { printJson, write } from '../output.ts';
import { appContext } from '../app-context.ts';
import type { LeaseFlags } from '../../app/session.ts';
import { warmup } from '../../app/warmup.ts';
import { formatDuration } from '../../domain/duration.ts';

/** How to use a kept box again and how to give it back (after `warmup` and `run --keep`). */
export function reuseHint(slug: string): string {
  return `reuse it: crabbox run --id ${slug} -- <command>   (shell: crabbox ssh ${slug}; stop it: crabbox stop ${slug})`;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('warmup')
    .description('Lease a box and keep it warm; prints its id and slug')
    .option('--provider <name>', 'provider: local, ssh, hetzner, aws')
    .option('--ttl <duration>', 'hard lifetime cap, 1m to 24h (default 90m)')
    .option('--idle-timeout <duration>', 'released after this long without use, 1m up to the TTL (default 30m)')
    .option('--keep', 'cleanup skips it until its TTL cap, even when idle')
    .option('--class <name>', 'machine class')
    .option('--type <type>', 'explicit machine type')
    .option('--pool [name]', 'take an idle machine from the coordinator\'s warm pool (of this provider and class, or the named pool)')
    .action(async (flags: LeaseFlags) => {
      const lease = await warmup.run(appContext(ctx), flags);
      if (ctx.json) return printJson(ctx.stdout, lease);
      const minutesLeft = Math.ceil((Date.parse(lease.expiresAt) - ctx.clock.now()) / 60_000);
      ctx.info(`leased ${lease.id} (${lease.slug}) on ${lease.provider}; expires in ${formatDuration(minutesLeft * 60)} unless used${lease.keep ? '; kept' : ''}`);
      ctx.info(reuseHint(lease.slug));
      write(ctx.stdout, `${lease.id} ${lease.slug}\n`);
    });
}
