import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { formatBytes, printJson, renderTable, write } from '../output.ts';
import { appContext } from '../app-context.ts';
import { syncPlan } from '../../app/sync-plan.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { plural } from '../../domain/plural.ts';
import { showPath } from '../../domain/show-path.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('sync-plan')
    .description('Show what `crabbox run` would sync from this checkout, without leasing anything')
    .option('--limit <n>', 'how many of the biggest files and folders to show', '10')
    .action(async (flags: { limit: string }) => {
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new CrabboxError('bad_request', `--limit ${JSON.stringify(flags.limit)}: expected a whole number from 1 to 1000`);
      const plan = await syncPlan.run(appContext(ctx), { limit });
      if (ctx.json) return printJson(ctx.stdout, plan);
      const lines = [
        `sync plan for ${showPath(plan.repoRoot)}`,
        `  ${plural(plan.files, 'file')} (${plan.tracked} tracked, ${plan.untracked} untracked, ${plural(plan.symlinks, 'symlink')}), ${formatBytes(plan.bytes)}`,
        `  ${plural(plan.excluded, 'path')} excluded (patterns: built-in ${plan.excludes.builtin.length}, sync.exclude ${plan.excludes.configured.length}, .crabboxignore ${plan.excludes.crabboxignore.length})`,
        `  guardrails: ${plan.guardrails.verdict}${plan.guardrails.messages.length ? ` (${plan.guardrails.messages.join('; ')})` : ''}`,
      ];
      if (plan.skippedDirectories.length) lines.push(`  not synced (submodules or nested repositories): ${plan.skippedDirectories.slice(0, limit).map(showPath).join(', ')}`);
      lines.push(plan.deletions.length ? `  deleted locally, so deleted on the box: ${plan.deletions.length}` : '  deleted locally: none');
      for (const d of plan.deletions.slice(0, limit)) lines.push(`    ${showPath(d)}`);
      write(ctx.stdout, `${lines.join('\n')}\n\nbiggest files\n${renderTable(['SIZE', 'PATH'], plan.biggestFiles.map((f) => [formatBytes(f.bytes), showPath(f.path)]))}\nbiggest folders\n${renderTable(['SIZE', 'FILES', 'FOLDER'], plan.biggestFolders.map((f) => [formatBytes(f.bytes), f.files, showPath(f.path)]))}`);
    });
}
