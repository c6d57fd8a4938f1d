import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { parseLeaseRef } from '../../domain/ids.ts';
import { printJson, write, isoTime } from '../output.ts';
import type { LeaseFlags } from '../direct.ts';
import { leaseSession } from '../session.ts';
import { leaseJson } from '../../leases/record.ts';
import { parseDuration } from '../../domain/duration.ts';
import { endedLeaseError } from '../../domain/ended.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description('Show one lease; --wait waits until its box answers ssh and has finished bootstrapping')
    .argument('<ref>', 'lease id or slug')
    .option('--provider <name>', 'provider: local, ssh, hetzner, aws')
    .option('--wait', 'wait until the box answers ssh and has finished bootstrapping')
    .option('--timeout <duration>', 'how long --wait may take', '2m')
    .action(async (ref: string, flags: LeaseFlags & { wait?: boolean; timeout: string }) => {
      parseLeaseRef(ref); // refuse a hostile ref before anything runs or changes
      const timeoutSeconds = parseDuration(flags.timeout, '--timeout');
      const { leases } = await leaseSession(ctx, flags);
      const lease = await leases.resolve(ref);
      let ready: boolean | undefined;
      if (flags.wait) {
        if (lease.state !== 'active' && lease.state !== 'provisioning') throw endedLeaseError(lease, ctx.clock.now());
        await leases.waitReady(lease, ctx.clock.now() + timeoutSeconds * 1000, { log: ctx.log });
        ready = true;
      }
      if (ctx.json) return printJson(ctx.stdout, { ...leaseJson(lease, ctx.clock.now()), ...(ready === undefined ? {} : { ready }) });
      const m = lease.machine;
      write(ctx.stdout, [
        `id:         ${lease.id}`,
        `slug:       ${lease.slug}`,
        `state:      ${lease.state}`,
        `provider:   ${lease.provider}`,
        `machine:    ${lease.machineStatus}${m ? ` ${m.sshUser}@${m.host}:${m.ports.join(',')}` : ''}`,
        `work root:  ${m?.workRoot ?? '-'}`,
        `type:       ${m?.type ?? '-'}`,
        `keep:       ${lease.keep ? 'yes' : 'no'}`,
        `created:    ${isoTime(lease.createdAt)}`,
        `touched:    ${isoTime(lease.lastTouchedAt)}`,
        `expires:    ${isoTime(lease.expiresAt)}`,
        ...(ready ? ['ready:      yes'] : []),
      ].join('\n') + '\n');
    });
}
