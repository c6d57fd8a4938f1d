import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { printJson, write } from '../output.ts';
import { loadConfig, type Config } from '../../config/load.ts';
import { pruneIndex } from '../../leases/index-prune.ts';
import { ExitCode } from '../../domain/exit-codes.ts';
import { brokeredClient } from '../session.ts';
import { sweepBrokeredKeys } from '../../leases/brokered-keys.ts';
import { providerFor } from '../../providers/registry.ts';
import { cleanupExpired } from '../../leases/cleanup.ts';
import { configFlags, type LeaseFlags } from '../direct.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('cleanup')
    .description('Delete your expired boxes (refuses when a coordinator is configured)')
    .option('--provider <name>', 'provider: local, ssh, hetzner, aws')
    .option('--dry-run', 'only say what would be deleted')
    .action(async (flags: LeaseFlags & { dryRun?: boolean }) => {
      const config = loadConfig({ env: ctx.env, cwd: ctx.cwd, flags: configFlags(flags) });
      if (config.coordinator) return brokeredCleanup(ctx, config, flags.dryRun === true);
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
      // A lease that could not be deleted (the others were) fails the command, so scripts notice; the next cleanup retries it.
      if (report.failed.length > 0) ctx.exitCode = ExitCode.unavailable;
      if (ctx.json) return printJson(ctx.stdout, { ...report, staleIndex });
      const verb = report.dryRun ? 'would delete' : 'deleted';
      const lines = report.deleted.map((d) => `${verb} ${d.id} (${d.slug}): ${d.reason}`);
      lines.push(...report.orphanKeys.map((id) => `${report.dryRun ? 'would remove' : 'removed'} orphaned keys of ${id}`));
      lines.push(...staleIndex.map((id) => `${report.dryRun ? 'would remove' : 'removed'} index entry of ${id}: its machine is gone`));
      lines.push(...report.dangling.deleted.map((d) => `deleted ${d.kind} ${d.name}: ${d.reason}`));
      lines.push(...report.failed.map((d) => `could not delete ${d.id} (${d.slug}): ${d.reason}; the next cleanup tries again`));
      lines.push(`${report.deleted.length} ${verb}, ${report.skipped.length} kept running`);
      write(ctx.stdout, `${lines.join('\n')}\n`);
    });
}

/**
 * Brokered mode: the coordinator expires and deletes the boxes; what is left to clean on this machine is the private
 * keys of leases that are gone (a CLI killed during or after a create). Same `--json` shape as direct cleanup.
 */
async function brokeredCleanup(ctx: CliContext, config: Config, dryRun: boolean): Promise<void> {
  const client = brokeredClient(ctx, config);
  const swept = await sweepBrokeredKeys({ client, stateDir: config.paths.stateDir, clock: ctx.clock, dryRun, log: ctx.log });
  if (ctx.json) return printJson(ctx.stdout, { dryRun, deleted: [], skipped: [], failed: [], orphanKeys: swept.removed, dangling: { deleted: [], skipped: [] }, staleIndex: [] });
  const verb = dryRun ? 'would remove' : 'removed';
  const lines = swept.removed.map((name) => `${verb} orphaned keys of ${name}`);
  lines.push(`${swept.removed.length} key folder${swept.removed.length === 1 ? '' : 's'} ${verb}; the coordinator at ${client.url} deletes expired boxes itself`);
  write(ctx.stdout, `${lines.join('\n')}\n`);
}
