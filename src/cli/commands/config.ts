import type { Command } from 'commander';
import { stringify } from 'yaml';
import type { CliContext } from '../context.ts';
import { printJson, write } from '../output.ts';
import { loadConfig, type Config } from '../../config/load.ts';
import { REDACTED } from '../../redact/redact.ts';

/** The config as shown to people: secrets replaced, paths and sources included. */
export function showableConfig(config: Config): Record<string, unknown> {
  const { sources, paths, coordinator, ...rest } = config;
  return {
    ...rest,
    coordinator: coordinator ? { url: coordinator.url, token: coordinator.token ? REDACTED : undefined, tokenKind: coordinator.tokenKind } : undefined,
    paths,
    sources,
  };
}

export function register(program: Command, ctx: CliContext): void {
  const config = program.command('config').description('Show the resolved config (secrets redacted) or its file paths');
  config
    .command('show')
    .description('Print the resolved config with where each setting came from')
    .action(() => {
      const shown = showableConfig(loadConfig({ env: ctx.env, cwd: ctx.cwd }));
      if (ctx.json) printJson(ctx.stdout, shown);
      else write(ctx.stdout, stringify(JSON.parse(JSON.stringify(shown))));
    });
  config
    .command('path')
    .description('Print the user config, repo config and state paths')
    .action(() => {
      const { paths } = loadConfig({ env: ctx.env, cwd: ctx.cwd });
      if (ctx.json) printJson(ctx.stdout, paths);
      else write(ctx.stdout, `user config: ${paths.userConfig}\nrepo config: ${paths.repoConfig ?? '-'}\nstate:       ${paths.stateDir}\n`);
    });
}
