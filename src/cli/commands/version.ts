import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { printJson } from '../output.ts';
import { version } from '../version.ts';
import { schemaId } from '../../api/schema-id.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('version')
    .description('Print the version')
    .action(() => {
      if (ctx.json) printJson(ctx.stdout, { schema: schemaId('version'), version: version(), node: process.version });
      else ctx.stdout.write(`crabbox ${version()}\n`);
    });
}
