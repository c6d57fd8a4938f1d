import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import * as z from 'zod';
import type { AppContext } from '../app/context.ts';
import { explainError } from '../app/explain.ts';
import { MCP_TOOLS } from '../app/registry.ts';
import type { UseCase } from '../app/usecase.ts';
import type { Clock } from '../domain/clock.ts';
import { isCrabboxError } from '../domain/errors.ts';
import { ExitCode } from '../domain/exit-codes.ts';
import { redact, redactValue } from '../redact/redact.ts';
import { ToolProgress } from './progress.ts';

/** What the server runs tools as: the user's env (config, coordinator token) and checkout, the clock, a log for warnings. */
export interface McpDeps {
  env: NodeJS.ProcessEnv;
  cwd: string;
  clock: Clock;
  version: string;
  /** Warnings and debug lines (the stdio entry writes them to stderr, which MCP clients keep as the server's log). */
  log(line: string): void;
}

const INSTRUCTIONS = [
  'Crabbox runs commands (usually tests) on a leased Linux box against this checkout, syncing the working tree first.',
  'For a task with several runs: call warmup once, pass its slug as `lease` to every run, and call stop when the task is done.',
  'A single run without `lease` leases and releases a box itself. result.exitCode is the command\'s own unless result.source is "crabbox" (then crabbox failed: see result.error).',
  'Failed JUnit cases and the end of the output come back with the run; results and logs read them again later by run id.',
].join(' ');

/** The tool list entry of a use case: JSON Schemas (draft-07, as MCP clients validate) from the zod source. */
export async function toolOf(useCase: UseCase): Promise<Tool> {
  return {
    name: useCase.name,
    title: useCase.annotations.title,
    description: useCase.description,
    inputSchema: jsonSchema(useCase.input, 'input') as Tool['inputSchema'],
    outputSchema: jsonSchema(await useCase.output(), 'output') as Tool['outputSchema'],
    annotations: { ...useCase.annotations },
  };
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

/** A failure as a tool result: the error document's code, message and hint (redacted), never a stack trace. */
export function toolError(thrown: unknown): CallToolResult {
  const error = explainError(thrown);
  const body = isCrabboxError(error)
    ? { error: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}), exitCode: error.exitCode }
    : { error: 'internal', message: `internal error: ${(error as Error)?.message ?? String(error)}`, exitCode: ExitCode.internal };
  return { isError: true, content: [{ type: 'text', text: redact(JSON.stringify({ schema: 'crabbox.error/v1', ...body })) }] };
}

function inputError(tool: string, error: z.ZodError): CallToolResult {
  const issue = error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  return { isError: true, content: [{ type: 'text', text: redact(JSON.stringify({ schema: 'crabbox.error/v1', error: 'bad_request', message: `${tool}: ${where}${issue?.message ?? 'invalid arguments'}`.slice(0, 300), exitCode: ExitCode.usage })) }] };
}

/**
 * The MCP server: one tool per use case in MCP_TOOLS, adapted here and nowhere else. Each call gets its own context
 * (the request's abort signal, progress notifications when the request carries a progress token); the result's
 * structured content is the use case's output, its text the same JSON.
 */
export function buildServer(deps: McpDeps): Server {
  const server = new Server({ name: 'crabbox', version: deps.version }, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });
  const tools = new Map<string, UseCase>(MCP_TOOLS.map((t) => [t.name, t as unknown as UseCase]));

  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: await Promise.all([...tools.values()].map(toolOf)) }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const useCase = tools.get(request.params.name);
    if (!useCase) return toolError(new Error(`no tool ${JSON.stringify(request.params.name.slice(0, 40))}; see tools/list`));
    const parsed = useCase.input.safeParse(request.params.arguments ?? {});
    if (!parsed.success) return inputError(useCase.name, parsed.error);
    const token = request.params._meta?.progressToken;
    const progress = new ToolProgress(token === undefined ? undefined : (value, message) => extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: value, message } }), deps.clock);
    const ctx: AppContext = {
      env: deps.env,
      cwd: deps.cwd,
      clock: deps.clock,
      signal: extra.signal,
      progress: (event) => progress.event(event),
      warn: (line) => {
        deps.log(line);
        progress.warn(line);
      },
      debug: () => undefined,
      output: progress.output,
    };
    try {
      const output = redactValue(await useCase.run(ctx, parsed.data));
      await progress.close();
      return { structuredContent: output as Record<string, unknown>, content: [{ type: 'text', text: JSON.stringify(output) }] };
    } catch (error) {
      await progress.close();
      return toolError(error);
    }
  });
  return server;
}
