import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { printJson, write } from '../output.ts';
import { appContext } from '../app-context.ts';
import { doctor, doctorExitCode } from '../../app/doctor.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('doctor')
    .description('Check local prerequisites (ssh, sshd, rsync, git, Node), config file modes, the coordinator (reachable, auth, clock skew), and on a coordinator host its database files')
    .action(async () => {
      const report = await doctor.run(appContext(ctx), {});
      ctx.exitCode = doctorExitCode(report);
      if (ctx.json) return printJson(ctx.stdout, report);
      write(ctx.stdout, report.checks.map((c) => `${c.ok ? (c.warning ? 'warn' : 'ok  ') : 'FAIL'} ${c.name}: ${c.detail}${c.fix ? ` (fix: ${c.fix})` : ''}`).join('\n') + '\n');
    });
}
