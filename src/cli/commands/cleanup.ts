import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { printJson, write } from '../output.ts';
import { appContext } from '../app-context.ts';
import { cleanup } from '../../app/cleanup.ts';
import type { LeaseFlags } from '../../app/session.ts';
import { maybeCoordinator } from '../../app/coordinator-session.ts';
import { ExitCode } from '../../domain/exit-codes.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('cleanup')
    .description('Delete your expired boxes (refuses when a coordinator is configured)')
    .option('--provider <name>', 'provider: local, ssh, hetzner, aws')
    .option('--dry-run', 'only say what would be deleted')
    .action(async (flags: LeaseFlags & { dryRun?: boolean }) => {
      const report = await cleanup.run(appContext(ctx), { provider: flags.provider, dryRun: flags.dryRun });
      // A lease that could not be deleted (the others were) fails the command, so scripts notice; the next cleanup retries it.
      if (report.failed.length > 0) ctx.exitCode = ExitCode.unavailable;
      if (ctx.json) return printJson(ctx.stdout, report);
      const { client } = maybeCoordinator(appContext(ctx));
      if (client) {
        const verb = report.dryRun ? 'would remove' : 'removed';
        const lines = report.orphanKeys.map((name) => `${verb} orphaned keys of ${name}`);
        lines.push(`${report.orphanKeys.length} key folder${report.orphanKeys.length === 1 ? '' : 's'} ${verb}; the coordinator at ${client.url} deletes expired boxes itself`);
        return write(ctx.stdout, `${lines.join('\n')}\n`);
      }
      const verb = report.dryRun ? 'would delete' : 'deleted';
      const lines = report.deleted.map((d) => `${verb} ${d.id} (${d.slug}): ${d.reason}`);
      lines.push(...report.orphanKeys.map((id) => `${report.dryRun ? 'would remove' : 'removed'} orphaned keys of ${id}`));
      lines.push(...report.staleIndex.map((id) => `${report.dryRun ? 'would remove' : 'removed'} index entry of ${id}: its machine is gone`));
      lines.push(...report.dangling.deleted.map((d) => `deleted ${d.kind} ${d.name}: ${d.reason}`));
      lines.push(...report.failed.map((d) => `could not delete ${d.id} (${d.slug}): ${d.reason}; the next cleanup tries again`));
      lines.push(`${report.deleted.length} ${verb}, ${report.skipped.length} kept running`);
      write(ctx.stdout, `${lines.join('\n')}\n`);
    });
}
