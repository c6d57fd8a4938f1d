import { redact } from '../redact/redact.ts';

/** Query parameters; undefined values are left out. */
export type QueryParams = Record<string, string | number | boolean | undefined>;

export interface BearerRequest {
  fetch: typeof fetch;
  baseUrl: string;
  method: string;
  path: string;
  token: string;
  query?: QueryParams | undefined;
  /** Sent as JSON when given. */
  body?: unknown;
  timeoutMs: number;
}

/** A request that got no answer: the network failed or the timeout passed. The message is redacted. */
export interface NoAnswer {
  timedOut: boolean;
  message: string;
}

/**
 * One JSON API request with a bearer token and a timeout, as the cloud clients (Hetzner, Cloudflare) send them. The
 * answer, whatever its status, is the caller's to read; a request that got none comes back as `noAnswer`, its message
 * in the caller's terms (`<what>: no answer within …ms`, or the network error redacted), never with the token.
 */
export async function bearerRequest(r: BearerRequest, what: string): Promise<{ response: Response } | { noAnswer: NoAnswer }> {
  const url = new URL(r.baseUrl + r.path);
  for (const [k, v] of Object.entries(r.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  try {
    const response = await r.fetch(url, {
      method: r.method,
      headers: { authorization: `Bearer ${r.token}`, ...(r.body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: r.body === undefined ? undefined : JSON.stringify(r.body),
      signal: AbortSignal.timeout(r.timeoutMs),
    });
    return { response };
  } catch (error) {
    const timedOut = (error as Error).name === 'TimeoutError';
    return { noAnswer: { timedOut, message: `${what}: ${timedOut ? `no answer within ${r.timeoutMs}ms` : redact((error as Error).message)}` } };
  }
}
