import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { oneLine, printJson, renderTable, write } from '../output.ts';
import { appContext } from '../app-context.ts';
import { history } from '../../app/history.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { parseLeaseRef } from '../../domain/ids.ts';
import { RUN_STATES, type RunState } from '../../api/shapes.ts';
import { formatSeconds } from '../../domain/duration.ts';

const MAX_LIMIT = 10_000;

function parseLimit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(n) || n < 1 || n > MAX_LIMIT) {
    throw new CrabboxError('bad_request', `--limit ${JSON.stringify(value.slice(0, 40))}: expected a whole number from 1 to ${MAX_LIMIT}`);
  }
  return n;
}

function parseState(value: string): RunState {
  if (!(RUN_STATES as readonly string[]).includes(value)) {
    throw new CrabboxError('bad_request', `--state ${JSON.stringify(value.slice(0, 40))}: expected one of ${RUN_STATES.join(', ')}`);
  }
  return value as RunState;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('history')
    .description('List recent runs, newest first')
    .option('--lease <ref>', 'only runs on this lease (id or slug)')
    .option('--state <state>', `only runs in this state (${RUN_STATES.join(', ')})`)
    .option('--limit <n>', 'at most this many runs', '20')
    .action(async (opts: { lease?: string; state?: string; limit: string }) => {
      const limit = parseLimit(opts.limit);
      const state = opts.state === undefined ? undefined : parseState(opts.state);
      if (opts.lease !== undefined) parseLeaseRef(opts.lease);
      const doc = await history.run(appContext(ctx), { lease: opts.lease, state, limit });
      if (ctx.json) return printJson(ctx.stdout, doc);
      if (doc.runs.length === 0) return ctx.info('no runs recorded yet');
      const rows = doc.runs.map((r) => [
        r.id, r.slug, r.state, r.exitCode ?? undefined, r.syncSkipped ? 'skipped' : formatSeconds(r.timings.sync), formatSeconds(r.timings.total), r.startedAt.replace(/\.\d{3}Z$/, 'Z'),
        r.command ? oneLine(r.command.join(' ')) : undefined,
      ]);
      write(ctx.stdout, renderTable(['RUN', 'LEASE', 'STATE', 'EXIT', 'SYNC', 'TOTAL', 'STARTED', 'COMMAND'], rows));
    });
}
