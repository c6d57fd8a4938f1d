import type { Project } from './detect.ts';

/** Quotes one argv word for a shell line in docs and instructions. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The run line an agent should use for this project: `crabbox run --json [--junit …] -- <test command>`. */
export function runLine(project: Project): string {
  const junit = project.junit.length ? ` --junit ${project.junit.join(',')}` : '';
  const command = project.testCommand ? project.testCommand.map(shellWord).join(' ') : '<your test command>';
  return `crabbox run --json${junit} -- ${command}`;
}

/** A commented `.crabbox.yaml`: the lease defaults set, and this project's suggestions commented out, ready to enable. */
export function crabboxYaml(project: Project): string {
  const lines = [
    '# Crabbox settings for this repository (docs/config.md). A repo may choose how boxes are leased, synced and run;',
    '# where credentials go (the coordinator URL and token) comes only from your user config or environment.',
    `# Detected: ${project.languages.length ? project.languages.join(', ') : 'no known language'}${project.packageManager ? ` (${project.packageManager})` : ''}.`,
    `# Run the tests on a box: ${runLine(project)}`,
    '',
    '# A fresh box lives at most `ttl`, and goes once it is idle for `idleTimeout` (`crabbox warmup` keeps one for a loop).',
    'lease:',
    '  ttl: 90m',
    '  idleTimeout: 30m',
    '',
    '# Sync sends tracked and untracked files git does not ignore. Built-in excludes already skip node_modules/, dist/,',
    '# .venv/, __pycache__/, target/ and other caches; `crabbox sync-plan` shows what a run would send. More:',
    '# sync:',
    '#   exclude:',
    ...(project.excludeSuggestions.length ? project.excludeSuggestions : ['build/']).map((e) => `#     - ${JSON.stringify(e)}`),
    '',
    '# Variables forwarded to the box (exact names or PREFIX_*): nothing is forwarded unless listed; values travel',
    '# over ssh stdin and are redacted from output and records. Suggestions for this project:',
    '# env:',
    '#   allow:',
    ...project.envSuggestions.map((e) => `#     - ${e}`),
    '',
    '# JUnit XML reports on the box (globs relative to the checkout) to summarise after each run; the test command',
    '# must write them (or pass --junit per run). `crabbox results <run-id>` lists the failed cases.',
    '# run:',
    '#   junit:',
    ...(project.junit.length ? project.junit : ['junit.xml', 'reports/**/*.xml']).map((j) => `#     - ${JSON.stringify(j)}`),
    '',
  ];
  return `${lines.join('\n')}`;
}

export const AGENTS_BEGIN = '<!-- crabbox:begin (written by `crabbox init`; edit freely, `crabbox init --force` rewrites it) -->';
export const AGENTS_END = '<!-- crabbox:end -->';

/** The AGENTS.md section: how an agent runs this project's tests on a box (docs/agents.md says more). */
export function agentsSection(project: Project): string {
  return [
    AGENTS_BEGIN,
    '## Running tests on a Crabbox box',
    '',
    'Run tests on a leased Linux box instead of this machine. Crabbox syncs the working tree (tracked and',
    'untracked files git does not ignore), runs the command there, streams its output and exits with its exit code.',
    '',
    `- One run: \`${runLine(project)}\`. stdout is one JSON result object`,
    '  (`"schema": "crabbox.run/v1"`): `exitCode`, `source` (`remote`: the command\'s own code; `crabbox`: crabbox',
    '  failed, see `error`), `runId`, phase `timings`, `junit` counts. The command\'s output goes to stderr.',
    '- Several runs in one task: `crabbox warmup --json` once (note the `slug`), then',
    '  `crabbox run --id <slug> --json -- …` for each run (only changes are synced), and `crabbox stop <slug>` when done.',
    '- Failed tests: `crabbox results <runId> --json`; output tail: `crabbox logs <runId> --json`.',
    '- Exit codes: the command\'s own; 64 bad usage, 66 no such lease or run, 69 unavailable, 75 timeout, 77 denied,',
    '  78 bad config, 130/143 interrupted. Never leave a box from `warmup` running: `crabbox list` shows yours.',
    '- With an MCP client, the `crabbox` server (`crabbox mcp`, see .mcp.json) offers the same as tools: warmup,',
    '  run (output streams as progress), results, logs, stop, status, list, history.',
    AGENTS_END,
    '',
  ].join('\n');
}

/** The MCP server entry for clients that read a project `.mcp.json` (Claude Code, and others that share the format). */
export const MCP_ENTRY = { command: 'crabbox', args: ['mcp'] } as const;
