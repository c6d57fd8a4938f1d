import type { Command } from 'commander';
import type { CliContext } from './context.ts';

/** A command module registers itself on the program; it is only imported when its command runs. */
export interface CommandModule {
  register(program: Command, ctx: CliContext): void;
}

export interface CommandEntry {
  name: string;
  aliases?: string[];
  summary: string;
  group: 'Boxes' | 'Runs' | 'Setup' | 'Team' | 'Other';
  load: () => Promise<CommandModule>;
}

/** Every command, in help order. Loading is lazy so start-up only reads the command being run. */
export const COMMANDS: CommandEntry[] = [
  { name: 'config', group: 'Setup', summary: 'Show the resolved config (secrets redacted) or its file paths', load: () => import('./commands/config.ts') },
  { name: 'login', group: 'Team', summary: 'Sign in to a coordinator with GitHub (or store the shared token from stdin)', load: () => import('./commands/login.ts') },
  { name: 'logout', group: 'Team', summary: 'Remove the stored coordinator token', load: () => import('./commands/logout.ts') },
  { name: 'whoami', group: 'Team', summary: 'Show who the coordinator thinks you are', load: () => import('./commands/whoami.ts') },
  { name: 'coordinator', group: 'Team', summary: 'Run the shared coordinator (serve)', load: () => import('./commands/coordinator.ts') },
  { name: 'version', group: 'Other', summary: 'Print the version', load: () => import('./commands/version.ts') },
];

export function findCommand(name: string): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name || c.aliases?.includes(name));
}
