import { loadConfig } from '../config/load.ts';
import { LocalRunStore } from '../runs/store.ts';
import type { AppContext } from './context.ts';

/** The local run history for the resolved config (direct mode). */
export function openRunStore(ctx: Pick<AppContext, 'env' | 'cwd' | 'clock'>): LocalRunStore {
  const config = loadConfig({ env: ctx.env, cwd: ctx.cwd });
  return new LocalRunStore({ stateDir: config.paths.stateDir, historyLimit: config.run.historyLimit, clock: ctx.clock });
}
