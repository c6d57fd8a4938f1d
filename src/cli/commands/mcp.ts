import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { redact } from '../../redact/redact.ts';
import { version } from '../version.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('mcp')
    .description('Serve crabbox to AI agents as an MCP server over stdio (tools: run, warmup, status, list, stop, logs, results, history), with your config, until the client disconnects')
    .action(async () => {
      if (ctx.json) throw new CrabboxError('bad_request', '`crabbox mcp` speaks JSON-RPC on stdout; it has no --json output', { hint: 'drop --json; an MCP client starts `crabbox mcp` itself (see docs/agents.md)' });
      // The MCP SDK loads only here: every other command starts without it.
      const { serveStdio } = await import('../../mcp/stdio.ts');
      await serveStdio({
        env: ctx.env,
        cwd: ctx.cwd,
        clock: ctx.clock,
        version: version(),
        log: (line) => void ctx.stderr.write(`crabbox mcp: ${redact(line)}\n`),
        stdin: ctx.stdin,
        stdout: ctx.stdout,
      });
    });
}
