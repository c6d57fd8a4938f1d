import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { buildServer, type McpDeps } from './server.ts';

/**
 * `crabbox mcp`: the MCP server over stdin/stdout until the client closes the connection. stdout carries only the
 * protocol; diagnostics go to stderr.
 */
export async function serveStdio(deps: McpDeps & { stdin: NodeJS.ReadableStream; stdout: NodeJS.WritableStream }): Promise<void> {
  const server = buildServer(deps);
  const transport = new StdioServerTransport(deps.stdin as never, deps.stdout as never);
  const closed = new Promise<void>((resolve) => {
    server.onclose = () => resolve();
    deps.stdin.once('end', () => resolve());
  });
  await server.connect(transport);
  await closed;
  await server.close();
}
