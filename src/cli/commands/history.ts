import type { Command } from 'commander';
import { CrabboxError } from '../../domain/errors.ts';
import { parseLeaseRef } from '../../domain/ids.ts';
import { RUN_STATES, type RunState } from '../../runs/record.ts';
import { formatSeconds } from '../../run/summary.ts';
import type { CliContext } from '../context.ts';
import { isoTime, printJson, renderTable, write } from '../output.ts';
import { oneLine, openRunStore } from '../run-store.ts';
import { maybeCoordinator } from '../session.ts';
import { listRemoteRuns } from '../../runs/remote-history.ts';
import { historyEntry } from '../../runs/json.ts';

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
      const ref = opts.lease === undefined ? undefined : parseLeaseRef(opts.lease);
      const { client } = maybeCoordinator(ctx);
      const runs = client
        ? await listRemoteRuns(client, { lease: opts.lease, state, limit })
        : openRunStore(ctx).list({ state, limit, leaseId: ref?.kind === 'id' ? ref.value : undefined, slug: ref?.kind === 'slug' ? ref.value : undefined });
      if (ctx.json) {
        printJson(ctx.stdout, { runs: runs.map(historyEntry) });
        return;
      }
      if (runs.length === 0) {
        ctx.info('no runs recorded yet');
        return;
      }
      const rows = runs.map((r) => [
        r.id, r.slug, r.state, r.exitCode, r.syncSkipped ? 'skipped' : formatSeconds(r.timings.sync), formatSeconds(r.timings.total), isoTime(Date.parse(r.startedAt)),
        r.command ? oneLine(r.command.join(' ')) : undefined,
      ]);
      write(ctx.stdout, renderTable(['RUN', 'LEASE', 'STATE', 'EXIT', 'SYNC', 'TOTAL', 'STARTED', 'COMMAND'], rows));
    });
}
