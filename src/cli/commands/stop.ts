import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { parseLeaseRef } from '../../domain/ids.ts';
import { CrabboxError, isCrabboxError } from '../../domain/errors.ts';
import { ExitCode } from '../../domain/exit-codes.ts';
import { redact } from '../../redact/redact.ts';
import { printJson, write } from '../output.ts';
import type { LeaseFlags } from '../direct.ts';
import { leaseSession } from '../session.ts';
import { explainError } from '../explain.ts';
import type { ReleaseResult } from '../../leases/service.ts';

type Outcome = { ref: string; result: ReleaseResult } | { ref: string; error: CrabboxError | Error };

export function register(program: Command, ctx: CliContext): void {
  for (const name of ['stop', 'release']) {
    program
      .command(name)
      .description('Release one or more leases and delete their boxes (an already-gone lease is success); each is reported, the exit code is the worst')
      .argument('<refs...>', 'lease ids or slugs')
      .option('--provider <name>', 'provider: local, ssh, hetzner, aws')
      .action(async (refs: string[], flags: LeaseFlags) => {
        for (const ref of refs) parseLeaseRef(ref); // refuse a hostile ref before anything runs or changes
        const unique = [...new Set(refs)];
        const { leases } = await leaseSession(ctx, flags);
        const outcomes: Outcome[] = [];
        for (const ref of unique) {
          try {
            outcomes.push({ ref, result: await leases.release(ref) });
          } catch (error) {
            const explained = explainError(error);
            if (unique.length === 1) throw explained;
            outcomes.push({ ref, error: explained as Error });
          }
        }
        ctx.exitCode = Math.max(ExitCode.ok, ...outcomes.map((o) => ('error' in o ? (isCrabboxError(o.error) ? o.error.exitCode : ExitCode.internal) : ExitCode.ok)));
        if (ctx.json) {
          const json = outcomes.map((o) => ('result' in o ? { id: o.result.leaseId, slug: o.result.slug ?? null, result: o.result.result } : { ref: o.ref, error: isCrabboxError(o.error) ? o.error.code : 'internal', message: o.error.message, exitCode: isCrabboxError(o.error) ? o.error.exitCode : ExitCode.internal }));
          return printJson(ctx.stdout, unique.length === 1 ? json[0] : { results: json });
        }
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
function stopMessage(result: ReleaseResult): string {
  if (result.result === 'released') return `released ${result.leaseId} (${result.slug})`;
  if (result.slug === undefined) return `no lease ${result.leaseId} of yours is live; nothing to release`;
  return `${result.leaseId} (${result.slug}) is already released; nothing to release`;
}
