import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { appContext } from '../app-context.ts';
import { copy } from '../../app/cp.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { plural } from '../../domain/plural.ts';
import { formatBytes } from '../output.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('cp')
    .description('Copy a file or folder between this computer and a lease\'s checkout on the box: cp <lease>:<path> <local>, or cp <local> <lease>:<path>')
    .argument('<source>', '<lease>:<path> (relative to the checkout on the box) or a local path')
    .argument('<dest>', 'a local path, or <lease>:<path>')
    .option('--provider <name>', 'provider: local, ssh, hetzner, aws')
    .action(async (source: string, dest: string, flags: { provider?: string }) => {
      if (ctx.json) throw new CrabboxError('bad_request', '`crabbox cp` has no --json output', { hint: 'drop --json; `crabbox run --download --json` lists what came back' });
      const result = await copy(appContext(ctx), { source, dest, provider: flags.provider });
      if (result.direction === 'from-box') ctx.info(`crabbox: copied ${plural(result.files ?? 0, 'file')} (${formatBytes(result.bytes ?? 0)}) to ${result.target}`);
      else ctx.info(`crabbox: copied to ${result.target}`);
    });
}
