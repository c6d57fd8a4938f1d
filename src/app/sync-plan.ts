import * as z from 'zod';
import { schemaId } from '../api/schema-id.ts';
import { loadConfig } from '../config/load.ts';
import { cacheDirFor } from '../sync/cache.ts';
import { buildManifest, requireRepoRoot } from '../sync/manifest.ts';
import { syncPlan as planSync } from '../sync/plan.ts';
import { useCase } from './usecase.ts';

export const syncPlan = useCase({
  name: 'sync-plan',
  description: 'What a run would sync from this checkout, without leasing anything: file counts, bytes, biggest files and folders, deletions, guardrail verdict.',
  input: z.strictObject({ limit: z.number().int().min(1).max(1000).default(10).describe('How many of the biggest files and folders to list') }),
  output: () => import('../api/shapes-setup.ts').then((m) => m.syncPlanJson),
  annotations: { title: 'Sync plan', readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(ctx, input) {
    const config = loadConfig({ env: ctx.env, cwd: ctx.cwd });
    const repoRoot = await requireRepoRoot(ctx.cwd);
    const plan = planSync(await buildManifest({ repoRoot, exclude: config.sync.exclude, cacheDir: cacheDirFor(config.paths.stateDir, repoRoot) }), config.sync, input.limit);
    return { schema: schemaId('sync-plan'), ...plan, skippedDirectories: [...plan.skippedDirectories], deletions: [...plan.deletions], excludes: { builtin: [...plan.excludes.builtin], configured: [...plan.excludes.configured], crabboxignore: [...plan.excludes.crabboxignore] } };
  },
});
