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
  { name: 'history', group: 'Runs', summary: 'List recent runs, newest first', load: () => import('./commands/history.ts') },
  { name: 'logs', group: 'Runs', summary: 'Print the stored output tail of a run', load: () => import('./commands/logs.ts') },
  { name: 'results', group: 'Runs', summary: 'Show the JUnit summary and failed cases of a run', load: () => import('./commands/results.ts') },
  { name: 'config', group: 'Setup', summary: 'Show the resolved config (secrets redacted) or its file paths', load: () => import('./commands/config.ts') },
  { name: 'version', group: 'Other', summary: 'Print the version', load: () => import('./commands/version.ts') },
];

export function findCommand(name: string): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name || c.aliases?.includes(name));
}
