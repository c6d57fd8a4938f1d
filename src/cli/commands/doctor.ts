import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { printJson, write } from '../output.ts';
import { runChecks } from '../../doctor/checks.ts';
import { ExitCode } from '../../domain/exit-codes.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('doctor')
    .description('Check local prerequisites (ssh, sshd, rsync, git, Node) and config file modes')
    .action(() => {
      const checks = runChecks({ env: ctx.env, cwd: ctx.cwd });
      const failed = checks.filter((c) => !c.ok);
      ctx.exitCode = failed.length === 0 ? ExitCode.ok : failed.some((c) => c.kind !== 'config') ? ExitCode.osError : ExitCode.config;
      if (ctx.json) return printJson(ctx.stdout, { ok: failed.length === 0, checks });
      write(ctx.stdout, checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}${c.fix ? ` (fix: ${c.fix})` : ''}`).join('\n') + '\n');
    });
}
