import type { AppContext, AppEvent } from '../app/context.ts';
import type { CliContext } from './context.ts';

/**
 * The application context of one CLI command: the user's env and checkout, the clock, warnings on stderr (redacted by
 * ctx.info), debug lines with --debug, and the command's output streams. Progress is dropped unless the command
 * listens (`run` prints it on a terminal).
 */
export function appContext(ctx: CliContext, extra: { signal?: AbortSignal; progress?: (event: AppEvent) => void; output?: AppContext['output']; terminal?: AppContext['terminal'] } = {}): AppContext {
  return {
    env: ctx.env,
    cwd: ctx.cwd,
    clock: ctx.clock,
    signal: extra.signal ?? new AbortController().signal,
    progress: extra.progress ?? (() => undefined),
    warn: (line) => ctx.info(line),
    debug: (line) => ctx.log(line),
    output: extra.output ?? { stdout: ctx.stdout, stderr: ctx.stderr },
    startedAt: ctx.startedAt,
    terminal: extra.terminal,
  };
}
