import type { Context } from 'hono';
import type { AnswerInput } from '../api/endpoints.ts';
import type { AppEnv } from '../coordinator/env.ts';
import type { EndpointHandler, EndpointInput } from '../coordinator/serve-endpoint.ts';

/**
 * Calls one of the API's own route handlers for a page: the same code, the same authorization (the identity is the
 * session's), the same answer the CLI would get. The query is given already parsed, as the handler expects it.
 */
export async function ask<E>(handler: EndpointHandler<E>, c: Context<AppEnv>, query?: EndpointInput<E>['query']): Promise<AnswerInput<E>> {
  return handler(c, { query, body: undefined } as EndpointInput<E>);
}
