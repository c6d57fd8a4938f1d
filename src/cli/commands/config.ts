import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { printJson, write } from '../output.ts';
import { schemaId } from '../../api/schema-id.ts';
import { loadConfig } from '../../config/load.ts';
import { configShowJson, configShowYaml } from '../../config/show.ts';

export function register(program: Command, ctx: CliContext): void {
  const config = program.command('config').description('Show the resolved config (secrets redacted) or its file paths');
  config
    .command('show')
    .description('Print the resolved config in config-file keys (copyable) with where each setting came from')
    .action(() => {
      const config = loadConfig({ env: ctx.env, cwd: ctx.cwd });
      if (ctx.json) printJson(ctx.stdout, { schema: schemaId('config'), ...configShowJson(config) });
      else write(ctx.stdout, configShowYaml(config));
    });
  config
    .command('path')
    .description('Print the user config, repo config and state paths')
    .action(() => {
      const { paths } = loadConfig({ env: ctx.env, cwd: ctx.cwd });
      if (ctx.json) printJson(ctx.stdout, { schema: schemaId('config-paths'), ...paths });
      else write(ctx.stdout, `user config: ${paths.userConfig}\nrepo config: ${paths.repoConfig ?? '-'}\nstate:       ${paths.stateDir}\n`);
    });
}
