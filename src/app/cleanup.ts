import * as z from 'zod';
import { schemaId } from '../api/schema-id.ts';
import { loadConfig, type Config } from '../config/load.ts';
import { sweepBrokeredKeys } from '../leases/brokered-keys.ts';
import { cleanupExpired } from '../leases/cleanup.ts';
import { pruneIndex } from '../leases/index-prune.ts';
import { providerFor } from '../providers/registry.ts';
import { providerName } from './inputs.ts';
import { configFlags } from './direct.ts';
import { brokeredClient } from './coordinator-session.ts';
import { useCase } from './usecase.ts';

export const cleanup = useCase({
  name: 'cleanup',
  description: 'Delete your expired boxes and what crashed sessions left behind (keys, index entries). In brokered mode the coordinator deletes boxes; only local keys are cleaned. dryRun only reports.',
  input: z.strictObject({ provider: providerName, dryRun: z.boolean().optional().describe('Only say what would be deleted') }),
  output: () => import('../api/shapes-setup.ts').then((m) => m.cleanupJson),
  annotations: { title: 'Clean up expired boxes', readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async run(ctx, input) {
    const dryRun = input.dryRun === true;
    const config = loadConfig({ env: ctx.env, cwd: ctx.cwd, flags: configFlags(input) });
    if (config.coordinator) {
      // Brokered: the coordinator expires and deletes the boxes; left here are the keys of leases that are gone.
      const client = brokeredClient(ctx, config);
      const swept = await sweepBrokeredKeys({ client, stateDir: config.paths.stateDir, clock: ctx.clock, dryRun, log: ctx.debug });
      return { schema: schemaId('cleanup'), dryRun, deleted: [], skipped: [], failed: [], orphanKeys: swept.removed, dangling: { deleted: [], skipped: [] }, staleIndex: [] };
    }
    const provider = await providerFor(config, { env: ctx.env, clock: ctx.clock });
    const report = await cleanupExpired({
      provider, clock: ctx.clock, stateDir: config.paths.stateDir, owner: config.owner, coordinator: config.coordinator, dryRun, dangling: true, log: ctx.debug,
    });
    const staleIndex = await pruneIndex({
      stateDir: config.paths.stateDir,
      providerFor: (name) => providerFor({ ...config, provider: name as Config['provider'] }, { env: ctx.env, clock: ctx.clock }),
      skip: provider.name,
      dryRun,
      log: ctx.debug,
    });
    return { schema: schemaId('cleanup'), ...report, staleIndex };
  },
});
