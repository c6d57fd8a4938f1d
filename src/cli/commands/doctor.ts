import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { printJson, write } from '../output.ts';
import { runChecks, type Check } from '../../doctor/checks.ts';
import { coordinatorChecks } from '../../doctor/coordinator.ts';
import { coordinatorHostChecks } from '../../doctor/coordinator-host.ts';
import { ExitCode } from '../../domain/exit-codes.ts';
import { loadConfig } from '../../config/load.ts';
import { accessCredentials } from '../access.ts';

/** The exit code for a set of findings: tools first, then config, then the coordinator. */
function exitCodeFor(failed: Check[]): number {
  if (failed.length === 0) return ExitCode.ok;
  if (failed.some((c) => c.kind === 'tool' || c.kind === 'runtime')) return ExitCode.osError;
  if (failed.some((c) => c.kind === 'config')) return ExitCode.config;
  return ExitCode.unavailable;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('doctor')
    .description('Check local prerequisites (ssh, sshd, rsync, git, Node), config file modes, the coordinator (reachable, auth, clock skew), and on a coordinator host its database files')
    .action(async () => {
      const checks = [...runChecks({ env: ctx.env, cwd: ctx.cwd }), ...coordinatorHostChecks(ctx.env)];
      let config;
      try {
        config = loadConfig({ env: ctx.env, cwd: ctx.cwd });
      } catch {
        config = undefined; // already reported by the config check
      }
      if (config) checks.push(...(await coordinatorChecks({ config, clock: ctx.clock, access: accessCredentials(ctx.env) })));
      const failed = checks.filter((c) => !c.ok);
      ctx.exitCode = exitCodeFor(failed);
      if (ctx.json) return printJson(ctx.stdout, { ok: failed.length === 0, checks });
      write(ctx.stdout, checks.map((c) => `${c.ok ? (c.warning ? 'warn' : 'ok  ') : 'FAIL'} ${c.name}: ${c.detail}${c.fix ? ` (fix: ${c.fix})` : ''}`).join('\n') + '\n');
    });
}
