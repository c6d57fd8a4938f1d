import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { printJson, write } from '../output.ts';
import { loadConfig, type Config } from '../../config/load.ts';
import { pruneIndex } from '../../leases/index-prune.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { providerFor } from '../../providers/registry.ts';
import { cleanupExpired } from '../../leases/cleanup.ts';
import { configFlags, type LeaseFlags } from '../direct.ts';
import { ExitCode } from '../../domain/exit-codes.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('cleanup')
    .description('Delete your expired boxes (refuses when a coordinator is configured)')
    .option('--provider <name>', 'provider: local, ssh, hetzner, aws')
    .option('--dry-run', 'only say what would be deleted')
    .action(async (flags: LeaseFlags & { dryRun?: boolean }) => {
      const config = loadConfig({ env: ctx.env, cwd: ctx.cwd, flags: configFlags(flags) });
      if (config.coordinator) throw new CrabboxError('bad_request', `the coordinator at ${config.coordinator.url} owns cleanup: it expires and deletes brokered boxes itself`, { hint: 'release your own leases with `crabbox stop`; admins can use `crabbox admin release`' });
      const provider = await providerFor(config, { env: ctx.env, clock: ctx.clock });
      const report = await cleanupExpired({
        provider,
        clock: ctx.clock,
        stateDir: config.paths.stateDir,
        owner: config.owner,
        coordinator: config.coordinator,
        dryRun: flags.dryRun,
        dangling: true,
        log: ctx.log,
      });
      const staleIndex = await pruneIndex({
        stateDir: config.paths.stateDir,
        providerFor: (name) => providerFor({ ...config, provider: name as Config['provider'] }, { env: ctx.env, clock: ctx.clock }),
        skip: provider.name,
        dryRun: flags.dryRun,
        log: ctx.log,
      });
      // A delete the provider refused is reported and retried by the next cleanup; the exit code says it happened.
      if (report.failed.length > 0) ctx.exitCode = ExitCode.unavailable;
      if (ctx.json) return printJson(ctx.stdout, { ...report, staleIndex });
      const verb = report.dryRun ? 'would delete' : 'deleted';
      const lines = report.deleted.map((d) => `${verb} ${d.id} (${d.slug}): ${d.reason}`);
      lines.push(...report.failed.map((d) => `could not delete ${d.id} (${d.slug}): ${d.error}; the next cleanup retries it`));
      lines.push(...report.orphanKeys.map((id) => `${report.dryRun ? 'would remove' : 'removed'} orphaned keys of ${id}`));
      lines.push(...staleIndex.map((id) => `${report.dryRun ? 'would remove' : 'removed'} index entry of ${id}: its machine is gone`));
      lines.push(...report.dangling.deleted.map((d) => `deleted ${d.kind} ${d.name}: ${d.reason}`));
      lines.push(`${report.deleted.length} ${verb}, ${report.skipped.length} kept running`);
      write(ctx.stdout, `${lines.join('\n')}\n`);
    });
}
