import type { Context, Hono, MiddlewareHandler } from 'hono';
import type * as z from 'zod';
import type { AnswerInput, Endpoint } from '../api/endpoints.ts';
import type { AppEnv } from './env.ts';
import { body, query } from './validate.ts';

type Parsed<E, K extends string> = E extends { [P in K]: infer S extends z.ZodType } ? z.output<S> : undefined;

/** The validated request of an endpoint: its query and body, parsed with the contract's schemas. */
export interface EndpointInput<E> {
  query: Parsed<E, 'query'>;
  body: Parsed<E, 'body'>;
}

/** A route handler: gets the validated input, returns the answer (type-checked against the contract's answer schema). */
export type EndpointHandler<E> = (c: Context<AppEnv>, input: EndpointInput<E>) => Promise<AnswerInput<E>> | AnswerInput<E>;

/**
 * Registers one endpoint of the contract (src/api/endpoints.ts) on a sub-app mounted at `mount`: the method and path
 * come from the entry, the query and body are parsed with its schemas (a bad one is a one-line 400), and the
 * handler's answer must have the shape the client parses. Middleware (roles, loading the lease) runs first.
 */
export function serveEndpoint<E extends Endpoint>(app: Hono<AppEnv>, mount: string, endpoint: E, ...handlers: [...MiddlewareHandler<AppEnv>[], EndpointHandler<E>]): void {
  if (!endpoint.path.startsWith(mount)) throw new Error(`${endpoint.path} is not under ${mount}`);
  const path = endpoint.path.slice(mount.length) || '/';
  const handler = handlers.pop() as EndpointHandler<E>;
  const middleware = handlers as MiddlewareHandler<AppEnv>[];
  const on = app.on.bind(app) as unknown as (method: string, path: string, ...handlers: MiddlewareHandler<AppEnv>[]) => void;
  on(endpoint.method, path, ...middleware, async (c) => {
    const bare = endpoint.bodyOptional === true && (c.req.header('content-length') === '0' || !c.req.header('content-type'));
    const input = {
      query: endpoint.query ? query(c, endpoint.query) : undefined,
      body: endpoint.body ? (bare ? {} : await body(c, endpoint.body)) : undefined,
    } as EndpointInput<E>;
    const answer = await handler(c, input);
    const status = typeof endpoint.status === 'function' ? (endpoint.status as (a: unknown) => 200 | 201)(answer) : (endpoint.status ?? 200);
    return c.json(answer as object, status);
  });
}
