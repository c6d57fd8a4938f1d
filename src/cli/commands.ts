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
  { name: 'run', group: 'Runs', summary: 'Sync this checkout to a box, run a command there, stream output, pass its exit code', load: () => import('./commands/run.ts') },
  { name: 'cp', group: 'Runs', summary: 'Copy files between this computer and a lease\'s checkout on the box (never over a file, never through a symlink)', load: () => import('./commands/cp.ts') },
  { name: 'sync-plan', group: 'Runs', summary: 'Show what a run would sync (counts, biggest files, deletions, guardrails); no lease', load: () => import('./commands/sync-plan.ts') },
  { name: 'warmup', group: 'Boxes', summary: 'Lease a box and keep it warm; prints its id and slug', load: () => import('./commands/warmup.ts') },
  { name: 'list', group: 'Boxes', summary: 'List your leases', load: () => import('./commands/list.ts') },
  { name: 'status', group: 'Boxes', summary: 'Show one lease; --wait waits until its box answers ssh', load: () => import('./commands/status.ts') },
  { name: 'ssh', group: 'Boxes', summary: 'Open a shell on a leased box, or run `-- command...` there', load: () => import('./commands/ssh.ts') },
  { name: 'stop', aliases: ['release'], group: 'Boxes', summary: 'Release leases and delete their boxes (one or more refs)', load: () => import('./commands/stop.ts') },
  { name: 'heartbeat', group: 'Boxes', summary: 'Touch a lease so it does not go idle', load: () => import('./commands/heartbeat.ts') },
  { name: 'cleanup', group: 'Boxes', summary: 'Delete your expired boxes (--dry-run to preview)', load: () => import('./commands/cleanup.ts') },
  { name: 'doctor', group: 'Setup', summary: 'Check local prerequisites and config file modes', load: () => import('./commands/doctor.ts') },
  { name: 'history', group: 'Runs', summary: 'List recent runs, newest first', load: () => import('./commands/history.ts') },
  { name: 'logs', group: 'Runs', summary: 'Print the stored output tail of a run', load: () => import('./commands/logs.ts') },
  { name: 'results', group: 'Runs', summary: 'Show the JUnit summary and failed cases of a run', load: () => import('./commands/results.ts') },
  { name: 'usage', group: 'Team', summary: 'Your usage this month by owner, org, provider or type, with caps; admins: --all, --owner (coordinator)', load: () => import('./commands/usage.ts') },
  { name: 'events', group: 'Team', summary: 'Your audit trail on the coordinator (--lease to follow one)', load: () => import('./commands/events.ts') },
  { name: 'admin', group: 'Team', summary: 'Admin only: everyone\'s leases and machines, release, delete, drain, events', load: () => import('./commands/admin.ts') },
  { name: 'config', group: 'Setup', summary: 'Show the resolved config (secrets redacted) or its file paths', load: () => import('./commands/config.ts') },
  { name: 'login', group: 'Team', summary: 'Sign in to a coordinator with GitHub (or store the shared token from stdin)', load: () => import('./commands/login.ts') },
  { name: 'logout', group: 'Team', summary: 'Remove the stored coordinator token and URL (back to direct mode; --keep-url keeps the URL)', load: () => import('./commands/logout.ts') },
  { name: 'whoami', group: 'Team', summary: 'Show who the coordinator thinks you are', load: () => import('./commands/whoami.ts') },
  { name: 'coordinator', group: 'Team', summary: 'Run the shared coordinator: init-secrets, serve, issue-token', load: () => import('./commands/coordinator.ts') },
  { name: 'pool', group: 'Team', summary: 'Maintainers: everyone\'s live leases in the shared pool (coordinator)', load: () => import('./commands/pool.ts') },
  { name: 'init', group: 'Setup', summary: 'Set up this project for crabbox and AI agents: .crabbox.yaml, an AGENTS.md section, .mcp.json', load: () => import('./commands/init.ts') },
  { name: 'mcp', group: 'Setup', summary: 'Serve crabbox to AI agents over MCP (stdio): run, warmup, status, list, stop, logs, results, history', load: () => import('./commands/mcp.ts') },
  { name: 'completion', group: 'Setup', summary: 'Print a shell completion script: bash, zsh or fish', load: () => import('./commands/completion.ts') },
  { name: 'version', group: 'Other', summary: 'Print the version', load: () => import('./commands/version.ts') },
];

export function findCommand(name: string): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name || c.aliases?.includes(name));
}

/** Every command name and alias, for "did you mean". */
export function commandNames(): string[] {
  return COMMANDS.flatMap((c) => [c.name, ...(c.aliases ?? [])]);
}
