import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { printJson, write } from '../output.ts';
import { openRunStore } from '../run-store.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('logs')
    .description('Print the stored output tail of a run')
    .argument('<run-id>', 'the run (run_ + 12 hex), see `crabbox history`')
    .action((runId: string) => {
      const record = openRunStore(ctx).get(runId);
      const tail = record.logTail ?? { text: '', totalBytes: 0, truncated: false };
      if (ctx.json) {
        printJson(ctx.stdout, { runId: record.id, state: record.state, exitCode: record.exitCode ?? null, logTail: tail });
        return;
      }
      if (tail.truncated) ctx.info(`showing the last ${Buffer.byteLength(tail.text)} of ${tail.totalBytes} bytes of output`);
      if (!record.logTail) ctx.info(`run ${record.id} has no stored output${record.state === 'running' ? ' yet (still running)' : ''}`);
      write(ctx.stdout, tail.text);
    });
}
