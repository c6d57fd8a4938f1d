import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { userConfigPath } from '../../config/paths.ts';
import type { CliContext } from '../context.ts';
import { removeCoordinatorToken } from '../login/token-store.ts';
import { printJson } from '../output.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('logout')
    .description('Remove the stored coordinator token from your user config (the URL stays)')
    .action(() => {
      const path = userConfigPath(ctx.env);
      const removed = existsSync(path) && removeCoordinatorToken(ctx.env);
      if (ctx.json) printJson(ctx.stdout, { removed, config: path });
      else ctx.info(removed ? `Logged out: removed the coordinator token from ${path}` : 'Not logged in: no coordinator token stored');
      if (ctx.env.CRABBOX_COORDINATOR_TOKEN) ctx.info('note: CRABBOX_COORDINATOR_TOKEN is still set in your environment and still supplies a token');
    });
}
