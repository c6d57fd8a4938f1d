import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { printJson, write } from '../output.ts';
import { appContext } from '../app-context.ts';
import type { LeaseEntry } from '../../api/shapes.ts';
import type { LeaseFlags } from '../../app/session.ts';
import { status } from '../../app/status.ts';
import { parseDuration } from '../../domain/duration.ts';
import { parseLeaseRef } from '../../domain/ids.ts';

const MACHINE_BY_STATE: Record<LeaseEntry['state'], string> = { provisioning: 'provisioning', active: 'running', released: 'deleting', expired: 'deleting', failed: 'unknown' };

/** The MACHINE column: the machine's status, or what the lease's state says of it when no machine is shown. */
export function machineColumn(lease: LeaseEntry): string {
  return lease.machine?.status ?? MACHINE_BY_STATE[lease.state];
}

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
      const lease = await status.run(appContext(ctx), { lease: ref, provider: flags.provider, ...(flags.wait ? { waitSeconds: Math.max(1, timeoutSeconds) } : {}) });
      if (ctx.json) return printJson(ctx.stdout, lease);
      const m = lease.machine;
      write(ctx.stdout, [
        `id:         ${lease.id}`,
        `slug:       ${lease.slug}`,
        `state:      ${lease.state}`,
        `provider:   ${lease.provider}`,
        `machine:    ${machineColumn(lease)}${m ? ` ${m.sshUser}@${m.host}:${m.ports.join(',')}` : ''}`,
        `work root:  ${m?.workRoot ?? '-'}`,
        `type:       ${lease.type ?? '-'}`,
        `keep:       ${lease.keep ? 'yes' : 'no'}`,
        `created:    ${lease.createdAt}`,
        `touched:    ${lease.lastTouchedAt}`,
        `expires:    ${lease.expiresAt}`,
        ...(lease.ready ? ['ready:      yes'] : []),
      ].join('\n') + '\n');
    });
}
