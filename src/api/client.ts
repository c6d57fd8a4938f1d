import * as z from 'zod';
import { CrabboxError, ErrorCatalog, type ErrorCode } from '../domain/errors.ts';
import { redact } from '../redact/redact.ts';
import { networkCause } from '../domain/network-error.ts';
import { accessFix, accessWall } from './access-wall.ts';
import { ENDPOINTS, pathOf, type Answer, type CallInput, type EndpointName, type Endpoints } from './endpoints.ts';
import type { Whoami } from './answers.ts';

/**
 * The CLI's HTTP client for the coordinator: typed answers, a timeout per request, one-line friendly errors.
 * The bearer token goes in Authorization; owner/org headers are sent only with the shared token (a user token
 * carries its identity, signed, and the coordinator ignores those headers for it anyway).
 */

export interface CoordinatorClientOptions {
  url: string;
  token?: string | undefined;
  tokenKind?: 'shared' | 'user' | undefined;
  owner?: string | undefined;
  org?: string | undefined;
  timeoutMs?: number | undefined;
  fetch?: typeof fetch | undefined;
  /** Cloudflare Access credentials (src/cli/access.ts), sent on every request. */
  access?: { headers: Record<string, string>; serviceToken: boolean; userToken: boolean } | undefined;
}

export { loginPollAnswer, loginStartAnswer, whoamiAnswer, type Whoami } from './answers.ts';

export interface CallOptions {
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

const errorBody = z.object({ error: z.string(), message: z.string(), hint: z.string().optional(), detail: z.record(z.string(), z.unknown()).optional() });

export class CoordinatorClient {
  readonly url: string;
  readonly #options: CoordinatorClientOptions;

  constructor(options: CoordinatorClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.#options = options;
  }

  /**
   * Calls one endpoint of the contract (src/api/endpoints.ts) by name: the path comes from its template and the
   * parameters, the answer is parsed with its schema. Every failure is a CrabboxError with a one-line message.
   */
  call<N extends EndpointName>(name: N, input: CallInput<Endpoints[N]>, options: CallOptions = {}): Promise<Answer<Endpoints[N]>> {
    const endpoint = ENDPOINTS[name];
    const { params, query, body } = input as { params?: Record<string, unknown>; query?: Record<string, unknown>; body?: unknown };
    // A POST always carries a JSON body (`{}` when the endpoint needs none); GET and DELETE never do.
    return this.#send(endpoint.method, pathOf(endpoint, { params, query }), endpoint.answer, endpoint.method === 'POST' ? (body ?? {}) : undefined, options) as Promise<Answer<Endpoints[N]>>;
  }

  async #send<S extends z.ZodType>(method: string, path: string, schema: S, body: unknown, call: CallOptions): Promise<z.infer<S>> {
    const o = this.#options;
    const timeoutMs = call.timeoutMs ?? o.timeoutMs ?? 30_000;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = call.signal ? AbortSignal.any([timeout, call.signal]) : timeout;
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'crabbox-cli', ...o.access?.headers };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    if (o.token && o.tokenKind !== 'user') {
      if (o.owner) headers['x-crabbox-owner'] = o.owner;
      if (o.org) headers['x-crabbox-org'] = o.org;
    }
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await (o.fetch ?? fetch)(`${this.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, redirect: 'manual' });
    } catch (error) {
      const err = error as Error;
      if (err.name === 'TimeoutError' || timeout.aborted) throw new CrabboxError('timeout', `the coordinator at ${this.url} did not answer within ${Math.round(timeoutMs / 1000)}s`, { hint: 'is it overloaded or down? `crabbox doctor` checks it' });
      if (call.signal?.aborted) throw new CrabboxError('interrupted', 'interrupted');
      throw new CrabboxError('unavailable', `cannot reach the coordinator at ${this.url}: ${networkCause(error) ?? err.message}`, { hint: 'is it running? check the URL and your network', cause: error });
    }
    let text: string;
    try {
      text = await res.text();
    } catch {
      throw new CrabboxError('timeout', `the coordinator at ${this.url} stopped answering mid-response`, { hint: 'is it overloaded or down? `crabbox doctor` checks it' });
    }
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    const wall = res.ok ? undefined : accessWall(res, text);
    if (wall) {
      const what = wall.kind === 'login-redirect' ? `a redirect to ${wall.team ?? 'its login page'}` : `HTTP ${res.status}`;
      throw new CrabboxError('unauthorized', `Cloudflare Access stopped the request before it reached the coordinator at ${this.url} (${what})`, { hint: accessFix(wall, { serviceToken: !!o.access?.serviceToken, userToken: !!o.access?.userToken }) });
    }
    if (!res.ok) {
      const parsed = errorBody.safeParse(json);
      const code: ErrorCode = parsed.success && parsed.data.error in ErrorCatalog ? (parsed.data.error as ErrorCode) : res.status === 401 ? 'unauthorized' : res.status === 403 ? 'forbidden' : res.status >= 500 ? 'unavailable' : 'bad_request';
      const message = parsed.success ? parsed.data.message : `the coordinator answered HTTP ${res.status}${res.status >= 300 && res.status < 400 ? ' (a redirect: is something in front of it asking you to sign in?)' : ''}`;
      throw new CrabboxError(code, redact(message).split('\n')[0]!.slice(0, 500), { ...(parsed.success && parsed.data.hint ? { hint: parsed.data.hint } : {}), ...(parsed.success && parsed.data.detail ? { detail: parsed.data.detail } : {}) });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new CrabboxError('unavailable', `the coordinator at ${this.url} sent an answer this crabbox does not understand (${method} ${path.split('?')[0]})`, { hint: 'is the URL right, and are the CLI and coordinator versions compatible?' });
    return parsed.data;
  }

  whoami(): Promise<Whoami> {
    return this.call('whoami', {});
  }
}
