import type * as z from 'zod';
import type { AppContext } from './context.ts';

/** What a use case does to the world, as MCP tool annotations say it (honest: a client may act on them). */
export interface UseCaseAnnotations {
  title: string;
  /** Changes nothing. */
  readOnlyHint: boolean;
  /** May end or delete something (a lease, a machine). */
  destructiveHint: boolean;
  /** Calling it again with the same input changes nothing more. */
  idempotentHint: boolean;
  /** Reaches outside crabbox's own state (runs a command on a box, provisions machines). */
  openWorldHint: boolean;
}

/**
 * One operation of the application: a zod input, a zod output (the versioned `--json` document, loaded on demand: the
 * CLI never needs it, and building every document's schema would cost each command about 10 ms at start-up), honest
 * annotations, and `run`, a plain function over the ports that returns the output object. The CLI, the MCP server and the
 * dashboard adapt the same definitions; none of them re-implements an operation.
 */
export interface UseCase<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  name: string;
  /** Written for a model choosing a tool: what it does, when to use it, what it returns. */
  description: string;
  input: I;
  output: () => Promise<O>;
  annotations: UseCaseAnnotations;
  run(ctx: AppContext, input: z.output<I>): Promise<z.output<O>>;
}

export function useCase<I extends z.ZodObject, O extends z.ZodObject>(definition: UseCase<I, O>): UseCase<I, O> {
  return definition;
}
