import { COMMANDS } from './commands.ts';
import { version } from './version.ts';

/** The top-level help, built from the command table so it never drifts from what exists. */
export function topLevelHelp(): string {
  const groups = new Map<string, string[]>();
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  for (const c of COMMANDS) {
    const line = `  ${c.name.padEnd(width)}${c.summary}${c.aliases?.length ? ` (alias: ${c.aliases.join(', ')})` : ''}`;
    groups.set(c.group, [...(groups.get(c.group) ?? []), line]);
  }
  const sections = [...groups].map(([group, lines]) => `${group}:\n${lines.join('\n')}`).join('\n\n');
  return `crabbox ${version()}: lease a Linux box, sync your checkout, run a command there, give the box back.

Usage:
  crabbox <command> [flags]
  crabbox run [flags] -- <command...>

Start here:
  crabbox run -- npm test                 lease a box, sync, run, release
  crabbox warmup                          keep a box warm for a loop of runs
  crabbox run --id blue-lobster -- npm test

${sections}

Global flags:
  --json     machine-readable output on stdout
  --debug    diagnostics on stderr (secrets redacted)
  -h, --help help for any command (crabbox <command> --help, or crabbox help <command> [subcommand])

Shell completion: crabbox completion bash|zsh|fish

Docs: docs/README.md in the Crabbox repository.
`;
}
