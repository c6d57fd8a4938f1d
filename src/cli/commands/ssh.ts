import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { appContext } from '../app-context.ts';
import type { LeaseFlags } from '../../app/session.ts';
import { shell } from '../../app/shell.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { parseLeaseRef } from '../../domain/ids.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('ssh')
    .description('Open a shell on a leased box, or run `-- command...` there')
    .argument('<ref>', 'lease id or slug')
    .argument('[command...]', 'command to run (after --); its exit code is passed through')
    .option('--provider <name>', 'provider: local, ssh, hetzner, aws')
    .action(async (ref: string, command: string[], flags: LeaseFlags) => {
      parseLeaseRef(ref); // refuse a hostile ref before anything runs or changes
      if (ctx.json) throw new CrabboxError('bad_request', '`crabbox ssh` has no --json output: it passes the remote command\'s own output through', { hint: 'drop --json; for JSON from the box run a command that prints it, or use `crabbox run --json`' });
      const interactive = command.length === 0;
      const real = ctx.stdin === process.stdin;
      ctx.exitCode = await shell(appContext(ctx), { lease: ref, provider: flags.provider, command }, {
        stdin: real ? 'inherit' : ctx.stdin,
        stdout: ctx.stdout === process.stdout ? 'inherit' : ctx.stdout,
        stderr: ctx.stderr === process.stderr ? 'inherit' : ctx.stderr,
        tty: interactive && real && process.stdin.isTTY === true,
      });
    });
}
