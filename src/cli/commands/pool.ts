import type { Command } from 'commander';
import { leaseListAnswer } from '../../api/answers.ts';
import { CrabboxError, isCrabboxError } from '../../domain/errors.ts';
import { leaseFromView } from '../../leases/brokered.ts';
import { leaseJson } from '../../leases/record.ts';
import type { CliContext } from '../context.ts';
import { isoTime, printJson, renderTable, write } from '../output.ts';
import { oneLine } from '../run-store.ts';
import { requireCoordinator } from '../session.ts';
import { parsePageLimit } from './events.ts';

const STATES = ['live', 'all', 'provisioning', 'active', 'released', 'expired', 'failed'];

export function register(program: Command, ctx: CliContext): void {
  program
    .command('pool')
    .description("The shared pool (maintainers and admins): everyone's leases with who holds them until when; no connection details")
    .option('--state <state>', STATES.join(', '), 'live')
    .option('--limit <n>', 'at most this many (1-500)', '100')
    .action(async (opts: { state: string; limit: string }) => {
      if (!STATES.includes(opts.state)) throw new CrabboxError('bad_request', `--state ${JSON.stringify(opts.state.slice(0, 20))}: expected one of ${STATES.join(', ')}`);
      const q = new URLSearchParams({ state: opts.state, limit: String(parsePageLimit(opts.limit)) });
      const client = requireCoordinator(ctx, 'pool');
      let leases;
      try {
        ({ leases } = await client.request('GET', `/v1/pool?${q}`, leaseListAnswer));
      } catch (error) {
        if (isCrabboxError(error) && error.code === 'forbidden') {
          throw new CrabboxError('forbidden', `\`crabbox pool\` is only for coordinator maintainers and admins: ${error.message}`, { hint: 'ask an admin to add you to maintainers, or check your role with `crabbox whoami`' });
        }
        throw error;
      }
      const now = ctx.clock.now();
      // The pool shows no machine, so the type comes from the view itself.
      const all = leases.map((view) => ({ lease: leaseFromView(view), type: view.type }));
      if (ctx.json) return printJson(ctx.stdout, { leases: all.map(({ lease, type }) => ({ ...leaseJson(lease, now), org: lease.org, type: type ?? null })) });
      if (all.length === 0) return ctx.info('the pool is empty: no leases');
      write(ctx.stdout, renderTable(['ID', 'SLUG', 'OWNER', 'ORG', 'STATE', 'PROVIDER', 'TYPE', 'EXPIRES'], all.map(({ lease: l, type }) => [l.id, l.slug, oneLine(l.owner, 40), oneLine(l.org, 30), l.state, l.provider, type, isoTime(l.expiresAt)])));
    });
}
