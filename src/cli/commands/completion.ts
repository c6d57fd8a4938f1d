import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { bashCompletion, completionTree, fishCompletion, zshCompletion } from '../completion.ts';

const SHELLS = { bash: bashCompletion, zsh: zshCompletion, fish: fishCompletion } as const;

export function register(program: Command, ctx: CliContext): void {
  program
    .command('completion')
    .description('Print a shell completion script (bash, zsh or fish), generated from the commands and their flags')
    .argument('<shell>', `one of ${Object.keys(SHELLS).join(', ')}`)
    .action(async (shell: string) => {
      const make = SHELLS[shell as keyof typeof SHELLS];
      if (!make) throw new CrabboxError('bad_request', `completion ${JSON.stringify(shell.slice(0, 20))}: expected one of ${Object.keys(SHELLS).join(', ')}`);
      if (ctx.json) throw new CrabboxError('bad_request', '`crabbox completion` prints a shell script; it has no --json output');
      ctx.stdout.write(make(await completionTree(ctx)));
    });
}
