import type { Command } from 'commander';

/** Examples per command path (`admin leases`), shown at the end of `crabbox <command> --help`. Every command has some. */
export const EXAMPLES: Record<string, string[]> = {
  run: ['crabbox run -- npm test', 'crabbox run --id blue-lobster -- npm test -- --grep auth', 'crabbox run --shell -- "make -j8 && make check"', 'crabbox run --json --junit reports/junit.xml -- npm test', 'crabbox run --download "coverage/**" --env DEBUG -- npm test'],
  'sync-plan': ['crabbox sync-plan', 'crabbox sync-plan --limit 20 --json'],
  warmup: ['crabbox warmup', 'crabbox warmup --ttl 4h --idle-timeout 1h --keep', 'crabbox warmup --provider hetzner --class beast'],
  list: ['crabbox list', 'crabbox list --json'],
  status: ['crabbox status blue-lobster', 'crabbox status cbx_5b447f7382cf --wait --timeout 5m'],
  ssh: ['crabbox ssh blue-lobster', 'crabbox ssh blue-lobster -- df -h /'],
  cp: ['crabbox cp blue-lobster:coverage ./coverage', 'crabbox cp ./fixtures blue-lobster:test/fixtures'],
  stop: ['crabbox stop blue-lobster', 'crabbox stop blue-lobster red-crab cbx_5b447f7382cf'],
  release: ['crabbox release blue-lobster'],
  heartbeat: ['crabbox heartbeat blue-lobster', 'crabbox heartbeat blue-lobster --idle-timeout 1h'],
  cleanup: ['crabbox cleanup --dry-run', 'crabbox cleanup'],
  doctor: ['crabbox doctor', 'crabbox doctor --json'],
  history: ['crabbox history', 'crabbox history --lease blue-lobster --state failed --limit 5'],
  logs: ['crabbox logs run_0123456789ab'],
  results: ['crabbox results run_0123456789ab', 'crabbox results run_0123456789ab --json'],
  usage: ['crabbox usage', 'crabbox usage --month 2026-03 --by type', 'crabbox usage --all --by owner   # admins', 'crabbox usage --owner github-1001   # admins'],
  events: ['crabbox events', 'crabbox events --lease blue-lobster --type lease.expired'],
  pool: ['crabbox pool', 'crabbox pool --state all --limit 50 --json'],
  admin: ['crabbox admin leases --owner github-1001', 'crabbox admin machines', 'crabbox admin drain mch_5b447f7382cf'],
  'admin leases': ['crabbox admin leases', 'crabbox admin leases --owner github-1001 --state all'],
  'admin release': ['crabbox admin release cbx_5b447f7382cf'],
  'admin delete': ['crabbox admin delete cbx_5b447f7382cf --force'],
  'admin machines': ['crabbox admin machines', 'crabbox admin machines --state all --limit 20 --json'],
  'admin drain': ['crabbox admin drain mch_5b447f7382cf', 'crabbox admin drain', 'crabbox admin drain --off'],
  'admin undrain': ['crabbox admin undrain mch_5b447f7382cf', 'crabbox admin undrain'],
  'admin events': ['crabbox admin events --owner github-1001 --limit 20', 'crabbox admin events --machine mch_5b447f7382cf'],
  config: ['crabbox config show', 'crabbox config path'],
  'config show': ['crabbox config show', 'crabbox config show --json'],
  'config path': ['crabbox config path'],
  login: ['crabbox login --url https://crabbox.example.com', 'crabbox login --no-browser', 'crabbox login --url https://crabbox.example.com --token-stdin < shared-token'],
  logout: ['crabbox logout', 'crabbox logout --keep-url'],
  whoami: ['crabbox whoami', 'crabbox whoami --json'],
  coordinator: ['eval "$(crabbox coordinator init-secrets)"', 'crabbox coordinator serve --port 8787 --providers local'],
  'coordinator init-secrets': ['eval "$(crabbox coordinator init-secrets)"', 'crabbox coordinator init-secrets --dir /etc/crabbox --force'],
  'coordinator deploy': ['crabbox coordinator deploy --dry-run', 'crabbox coordinator deploy --config wrangler.jsonc'],
  'coordinator serve': ['crabbox coordinator serve --port 8787 --providers local', 'crabbox coordinator serve --host 0.0.0.0 --port 8787 --config coordinator.yaml'],
  'coordinator issue-token': ['crabbox coordinator issue-token --login alice --ttl 12h'],
  completion: ['source <(crabbox completion bash)', 'crabbox completion zsh > ~/.zfunc/_crabbox   # with fpath+=(~/.zfunc) in ~/.zshrc', 'crabbox completion fish > ~/.config/fish/completions/crabbox.fish'],
  init: ['crabbox init', 'crabbox init --json', 'crabbox init --force   # replace crabbox\'s own files and sections you changed'],
  mcp: ['crabbox mcp   # started by an MCP client: .mcp.json has {"mcpServers": {"crabbox": {"command": "crabbox", "args": ["mcp"]}}}'],
  version: ['crabbox version', 'crabbox version --json'],
};

/** The command's path below the program: `admin leases`. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Adds the examples to every registered command's help, and makes every command report errors instead of exiting. */
export function decorateHelp(program: Command): void {
  const visit = (cmd: Command): void => {
    cmd.exitOverride();
    const examples = EXAMPLES[commandPath(cmd)];
    if (examples) cmd.addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}\n`);
    for (const sub of cmd.commands) visit(sub);
  };
  for (const sub of program.commands) visit(sub);
}
