import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { parseLeaseRef } from '../../domain/ids.ts';
import { printJson, write, isoTime } from '../output.ts';
import type { LeaseFlags } from '../direct.ts';
import { leaseSession } from '../session.ts';
import { leaseJson } from '../../leases/record.ts';
import { parseDuration } from '../../domain/duration.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { checkIdleTimeout, describeTimingProblem, FLAG_NAMES } from '../../domain/lease-timing.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('heartbeat')
    .description('Touch a lease: push its idle deadline out (never past its TTL cap)')
    .argument('<ref>', 'lease id or slug')
    .option('--provider <name>', 'provider: local, ssh, hetzner, aws')
    .option('--idle-timeout <duration>', 'also change the idle timeout (1m up to the lease\'s TTL)')
    .action(async (ref: string, flags: { provider?: string; idleTimeout?: string }) => {
      parseLeaseRef(ref); // refuse a hostile ref before anything runs or changes
      const idle = flags.idleTimeout === undefined ? undefined : parseDuration(flags.idleTimeout, '--idle-timeout');
      const problem = idle === undefined ? undefined : checkIdleTimeout(idle);
      if (problem) throw new CrabboxError('bad_request', describeTimingProblem(problem, FLAG_NAMES));
      const { leases } = await leaseSession(ctx, { provider: flags.provider } satisfies LeaseFlags);
      const lease = await leases.touch(ref, idle);
      if (ctx.json) return printJson(ctx.stdout, leaseJson(lease, ctx.clock.now()));
      write(ctx.stdout, `${lease.id} (${lease.slug}) expires ${isoTime(lease.expiresAt)}\n`);
    });
}
