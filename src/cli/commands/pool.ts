import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { oneLine, printJson, renderTable, write } from '../output.ts';
import { appContext } from '../app-context.ts';
import { LEASE_FILTERS, pool } from '../../app/pool.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { parsePageLimit } from './events.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('pool')
    .description("The shared pool (maintainers and admins): everyone's leases with who holds them until when; no connection details")
    .option('--state <state>', LEASE_FILTERS.join(', '), 'live')
    .option('--limit <n>', 'at most this many (1-500)', '100')
    .action(async (opts: { state: string; limit: string }) => {
      if (!(LEASE_FILTERS as readonly string[]).includes(opts.state)) throw new CrabboxError('bad_request', `--state ${JSON.stringify(opts.state.slice(0, 20))}: expected one of ${LEASE_FILTERS.join(', ')}`);
      const doc = await pool.run(appContext(ctx), { state: opts.state as (typeof LEASE_FILTERS)[number], limit: parsePageLimit(opts.limit) });
      if (ctx.json) return printJson(ctx.stdout, doc);
      if (doc.leases.length === 0) return ctx.info('the pool is empty: no leases');
      write(ctx.stdout, renderTable(['ID', 'SLUG', 'OWNER', 'ORG', 'STATE', 'PROVIDER', 'TYPE', 'EXPIRES'], doc.leases.map((l) => [l.id, l.slug, oneLine(l.owner, 40), oneLine(l.org, 30), l.state, l.provider, l.type ?? undefined, l.expiresAt])));
    });
}
