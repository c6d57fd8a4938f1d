import { loadConfig } from '../config/load.ts';
import { LocalRunStore } from '../runs/store.ts';
import type { CliContext } from './context.ts';

/** The local run history for the resolved config (direct mode). */
export function openRunStore(ctx: CliContext): LocalRunStore {
  const config = loadConfig({ env: ctx.env, cwd: ctx.cwd });
  return new LocalRunStore({ stateDir: config.paths.stateDir, historyLimit: config.run.historyLimit, clock: ctx.clock });
}

/** Makes stored text safe for one table cell: control characters escaped, length bounded. */
export function oneLine(text: string, max = 60): string {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}
