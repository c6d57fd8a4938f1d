import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { printJson, write } from '../output.ts';
import { appContext } from '../app-context.ts';
import { heartbeat } from '../../app/heartbeat.ts';
import { parseDuration } from '../../domain/duration.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { parseLeaseRef } from '../../domain/ids.ts';
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
      const lease = await heartbeat.run(appContext(ctx), { lease: ref, provider: flags.provider, idleTimeoutSeconds: idle });
      if (ctx.json) return printJson(ctx.stdout, lease);
      write(ctx.stdout, `${lease.id} (${lease.slug}) expires ${lease.expiresAt}\n`);
    });
}
