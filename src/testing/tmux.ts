import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** A tmux server of a test's own (its socket in `dir`): a real terminal for the built CLI. */
export interface TmuxServer {
  /** Runs a tmux command against this server; returns its stdout. */
  tmux(...args: string[]): string;
  /** Ends the server and every window in it (nothing left to end is fine). */
  kill(): void;
}

export function tmuxServer(dir: string): TmuxServer {
  const socket = join(dir, 'tmux.sock');
  const tmux = (...args: string[]): string => execFileSync('tmux', ['-S', socket, ...args], { encoding: 'utf8' });
  return {
    tmux,
    kill: () => {
      try {
        tmux('kill-server');
      } catch {
        // no server left
      }
    },
  };
}
