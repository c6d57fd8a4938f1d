import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { printJson, write } from '../output.ts';
import { appContext } from '../app-context.ts';
import { init } from '../../app/init.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('init')
    .description('Set up this project: detect its language and test command, write a commented .crabbox.yaml, an AGENTS.md section for coding agents and a .mcp.json entry for `crabbox mcp`; never overwrites without --force')
    .option('--force', 'replace crabbox\'s own files and sections when they differ from what init writes')
    .action(async (opts: { force?: boolean }) => {
      const doc = await init.run(appContext(ctx), { force: opts.force });
      if (ctx.json) return printJson(ctx.stdout, doc);
      const p = doc.project;
      ctx.info(`project: ${p.languages.length ? p.languages.join(', ') : 'no known language'}${p.packageManager ? ` (${p.packageManager})` : ''}; test command: ${p.testCommand ? p.testCommand.join(' ') : 'none found'}`);
      write(ctx.stdout, doc.files.map((f) => `${f.action.padEnd(9)} ${f.path}${f.note ? ` (${f.note})` : ''}\n`).join(''));
      if (doc.files.some((f) => f.action === 'kept')) ctx.info('some files were kept as they are; `crabbox init --force` replaces crabbox\'s parts of them');
    });
}
