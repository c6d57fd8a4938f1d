import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { printJson, write } from '../output.ts';
import { appContext } from '../app-context.ts';
import { schemaId } from '../../api/schema-id.ts';
import type { LeaseFlags } from '../../app/session.ts';
import { exitCodeOf, stopEntry, stopLeases, stopManyDocument } from '../../app/stop.ts';
import { isCrabboxError } from '../../domain/errors.ts';
import { ExitCode } from '../../domain/exit-codes.ts';
import { redact } from '../../redact/redact.ts';

type Released = Parameters<typeof stopEntry>[0];

export function register(program: Command, ctx: CliContext): void {
  for (const name of ['stop', 'release']) {
    program
      .command(name)
      .description('Release one or more leases and delete their boxes (an already-gone lease is success); each is reported, the exit code is the worst')
      .argument('<refs...>', 'lease ids or slugs')
      .option('--provider <name>', 'provider: local, ssh, hetzner, aws')
      .action(async (refs: string[], flags: LeaseFlags) => {
        const outcomes = await stopLeases(appContext(ctx), { leases: refs, provider: flags.provider });
        const [only] = outcomes;
        if (outcomes.length === 1 && only && 'error' in only) throw only.error;
        ctx.exitCode = Math.max(ExitCode.ok, ...outcomes.map((o) => ('error' in o ? exitCodeOf(o.error) : ExitCode.ok)));
        if (ctx.json) return printJson(ctx.stdout, outcomes.length === 1 && only && 'result' in only ? { schema: schemaId('stop'), ...stopEntry(only.result) } : stopManyDocument(outcomes));
        for (const o of outcomes) {
          if ('result' in o) write(ctx.stdout, `${stopMessage(o.result)}\n`);
          else ctx.stderr.write(`crabbox: ${redact(`${o.ref}: ${o.error.message}${isCrabboxError(o.error) && o.error.hint ? `; ${o.error.hint}` : ''}`)}\n`);
        }
      });
  }
}

/**
 * What `stop` says. A lease we could not see (already released, never ours, or unknown) gets a message that claims
 * nothing about it beyond "none of yours is live": the id may belong to someone else.
 */
function stopMessage(result: Released): string {
  if (result.result === 'released') return `released ${result.leaseId} (${result.slug})`;
  if (result.slug === undefined) return `no lease ${result.leaseId} of yours is live; nothing to release`;
  return `${result.leaseId} (${result.slug}) is already released; nothing to release`;
}
