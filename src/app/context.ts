import { Writable } from 'node:stream';
import type { Clock } from '../domain/clock.ts';

/**
 * What a use case may know of its caller: whose config (env and working directory), the clock, a cancel signal, and
 * where progress, warnings and a run's live output go. Every face (CLI, MCP server, later the dashboard) builds one.
 * A use case returns a result object; it never prints, never exits, and never reads process globals.
 */
export interface AppContext {
  /** Where config comes from (user config, CRABBOX_* variables, the coordinator token): the caller's identity. */
  env: NodeJS.ProcessEnv;
  /** The checkout a run syncs and whose repo config applies. */
  cwd: string;
  clock: Clock;
  /** Ctrl-C in the CLI, a cancelled request in the MCP server. */
  signal: AbortSignal;
  /** Progress of a long use case (phase lines, the lease a run holds); a no-op when nobody listens. */
  progress(event: AppEvent): void;
  /** Something the caller should know that does not fail the use case, in the user's terms. */
  warn(line: string): void;
  /** Diagnostics (`--debug`). */
  debug(line: string): void;
  /** Where a run's command output streams, live (the CLI: the terminal; MCP: progress notifications). */
  output: { stdout: Writable; stderr: Writable };
  /** The caller's terminal when a run's output goes to one (its TERM, COLUMNS and LINES reach the box); else TERM=dumb. */
  terminal?: {
    columns?: number | undefined;
    rows?: number | undefined;
    onResize?: ((listener: (columns: number, rows: number) => void) => () => void) | undefined;
    /** The caller's keys, when a `run -t` may take them (the CLI puts its terminal in raw mode for that). */
    onInput?: ((listener: (bytes: Buffer) => void) => () => void) | undefined;
  } | undefined;
  /** When the caller started, on the clock's time line; run timings count from here (default: when the use case starts). */
  startedAt?: number | undefined;
}

export type AppEvent =
  /** A phase of a run or create: `leasing a box…`, `syncing 12 files…`, `releasing cbx_…`. */
  | { type: 'progress'; message: string }
  /** The lease a run now holds, and whether the run would release it (for a second Ctrl-C's message). */
  | { type: 'lease'; id: string; slug: string; releases: boolean };

/** A context that listens to nothing: for tests and callers without progress. */
export function quietContext(base: Pick<AppContext, 'env' | 'cwd' | 'clock'> & Partial<AppContext>): AppContext {
  return {
    signal: new AbortController().signal,
    progress: () => undefined,
    warn: () => undefined,
    debug: () => undefined,
    output: base.output ?? { stdout: devNull(), stderr: devNull() },
    ...base,
  };
}

function devNull(): Writable {
  return new Writable({ write: (_chunk, _encoding, callback) => callback() });
}
