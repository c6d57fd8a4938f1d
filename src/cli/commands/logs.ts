import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { printJson, write } from '../output.ts';
import { appContext } from '../app-context.ts';
import { logs } from '../../app/logs.ts';
import { plural } from '../../domain/plural.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('logs')
    .description('Print the stored output tail of a run')
    .argument('<run-id>', 'the run (run_ + 12 hex), see `crabbox history`')
    .action(async (runId: string) => {
      const doc = await logs.run(appContext(ctx), { runId });
      if (ctx.json) return printJson(ctx.stdout, doc);
      const tail = doc.logTail;
      if (tail.truncated) ctx.info(`showing the last ${Buffer.byteLength(tail.text)} of ${plural(tail.totalBytes, 'byte')} of output`);
      if (tail.totalBytes === 0 && tail.text === '') ctx.info(`run ${doc.runId} has no stored output${doc.state === 'running' ? ' yet (still running)' : ''}`);
      write(ctx.stdout, tail.text);
    });
}
