import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { printJson, write } from '../output.ts';
import { openRunStore } from '../run-store.ts';
import { plural } from '../../domain/plural.ts';
import { maybeCoordinator } from '../session.ts';
import { getRemoteRun } from '../../runs/remote-history.ts';
import { logsJson } from '../../runs/json.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('logs')
    .description('Print the stored output tail of a run')
    .argument('<run-id>', 'the run (run_ + 12 hex), see `crabbox history`')
    .action(async (runId: string) => {
      const { client } = maybeCoordinator(ctx);
      const record = client ? (await getRemoteRun(client, runId, true)).record : openRunStore(ctx).get(runId);
      const tail = record.logTail ?? { text: '', totalBytes: 0, truncated: false };
      if (ctx.json) return printJson(ctx.stdout, logsJson(record));
      if (tail.truncated) ctx.info(`showing the last ${Buffer.byteLength(tail.text)} of ${plural(tail.totalBytes, 'byte')} of output`);
      if (!record.logTail) ctx.info(`run ${record.id} has no stored output${record.state === 'running' ? ' yet (still running)' : ''}`);
      write(ctx.stdout, tail.text);
    });
}
