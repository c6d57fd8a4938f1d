import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { userConfigPath } from '../../config/paths.ts';
import type { CliContext } from '../context.ts';
import { removeCoordinatorLogin } from '../login/token-store.ts';
import { printJson } from '../output.ts';
import { schemaId } from '../../api/schema-id.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('logout')
    .description('Remove the stored coordinator token and URL from your user config, so lease commands run in direct mode again')
    .option('--keep-url', 'keep the coordinator URL (lease commands then need `crabbox login` again)')
    .action((opts: { keepUrl?: boolean }) => {
      const path = userConfigPath(ctx.env);
      const found = existsSync(path) ? removeCoordinatorLogin(ctx.env, { keepUrl: opts.keepUrl }) : { token: false, url: undefined, urlRemoved: false };
      const envUrl = ctx.env.CRABBOX_COORDINATOR;
      const kept = found.url !== undefined && !found.urlRemoved;
      const mode = envUrl || kept ? 'brokered' : 'direct';
      if (ctx.json) return printJson(ctx.stdout, { schema: schemaId('logout'), removed: found.token, urlRemoved: found.urlRemoved ? found.url : null, config: path, mode });
      if (found.token || found.urlRemoved) {
        const what = [found.token ? 'the coordinator token' : undefined, found.urlRemoved ? `the coordinator URL ${found.url}` : undefined].filter(Boolean).join(' and ');
        ctx.info(`Logged out: removed ${what} from ${path}`);
      } else {
        ctx.info('Not logged in: no coordinator token stored');
      }
      if (kept) ctx.info(`The coordinator URL ${found.url} stays (--keep-url): lease commands need \`crabbox login\` again; \`crabbox logout\` without --keep-url goes back to direct mode`);
      else if (!envUrl) ctx.info('Lease commands now run in direct mode (no coordinator)');
      if (envUrl) ctx.info('note: CRABBOX_COORDINATOR is still set in your environment, so lease commands still go to that coordinator');
      if (ctx.env.CRABBOX_COORDINATOR_TOKEN) ctx.info('note: CRABBOX_COORDINATOR_TOKEN is still set in your environment and still supplies a token');
    });
}
