import type { Context } from 'hono';
import type { z } from 'zod';
import { CrabboxError } from '../domain/errors.ts';

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid request';
  const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
  return `${where}${issue.message}`.slice(0, 300);
}

/** Parses the JSON body with a schema; anything else is a one-line 400. */
export async function body<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\b/i.test(type)) throw new CrabboxError('bad_request', 'send the request body as JSON (Content-Type: application/json)');
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch (error) {
    if (error instanceof CrabboxError) throw error;
    throw new CrabboxError('bad_request', 'the request body is not valid JSON');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new CrabboxError('bad_request', describe(parsed.error));
  return parsed.data;
}

/** Parses the query string with a schema (repeated keys are refused). */
export function query<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  const all = c.req.queries();
  const flat: Record<string, string> = {};
  for (const [key, values] of Object.entries(all)) {
    if (values.length !== 1) throw new CrabboxError('bad_request', `query parameter ${JSON.stringify(key.slice(0, 40))} is given more than once`);
    flat[key] = values[0]!;
  }
  const parsed = schema.safeParse(flat);
  if (!parsed.success) throw new CrabboxError('bad_request', describe(parsed.error));
  return parsed.data;
}

/** Parses one path parameter with a schema. */
export function param<S extends z.ZodType>(c: Context, name: string, schema: S): z.infer<S> {
  const parsed = schema.safeParse(c.req.param(name));
  if (!parsed.success) throw new CrabboxError('bad_request', `${name}: ${describe(parsed.error)}`);
  return parsed.data;
}
