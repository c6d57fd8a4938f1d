import { systemClock, type Clock } from '../domain/clock.ts';
import { CrabboxError } from '../domain/errors.ts';
import { redact } from '../redact/redact.ts';
import { bearerRequest } from '../net/bearer-request.ts';

export const CLOUDFLARE_API_URL = 'https://api.cloudflare.com/client/v4';
/** The page size the client asks list endpoints for (Cloudflare's lists accept up to 50-1000 depending on the route). */
export const PER_PAGE = 50;

/** One entry of Cloudflare's `errors` / `messages` arrays. */
export interface CloudflareMessage {
  code: number;
  message: string;
}

/** Cloudflare's v4 envelope: every answer, success or not. */
export interface Envelope<T> {
  success: boolean;
  errors: CloudflareMessage[];
  messages: CloudflareMessage[];
  result: T;
  result_info?: { page: number; per_page: number; count: number; total_count: number; total_pages?: number } | undefined;
}

/** An error answered by the Cloudflare API (`success: false`) or a transport failure. Never carries the token. */
export class CloudflareApiError extends Error {
  readonly status: number;
  /** Cloudflare's error codes from `errors[].code` (e.g. 81053 for a DNS record that already exists). */
  readonly codes: number[];
  readonly retryAfterMs: number | undefined;
  constructor(options: { status: number; codes: number[]; message: string; retryAfterMs?: number | undefined }) {
    super(options.message);
    this.name = 'CloudflareApiError';
    this.status = options.status;
    this.codes = options.codes;
    this.retryAfterMs = options.retryAfterMs;
  }

  /** The object is not there (a delete of something already gone counts as done). */
  get notFound(): boolean {
    return this.status === 404;
  }
}

export interface CloudflareClientOptions {
  /** An API token (never a global API key): see docs/tunnel.md for the permissions it needs. */
  token: string;
  baseUrl?: string | undefined;
  fetch?: typeof fetch | undefined;
  timeoutMs?: number | undefined;
  /** Attempts for 5xx, network failures and timeouts, with exponential backoff on the clock. */
  attempts?: number | undefined;
  /** How long a call keeps waiting out 429s (Retry-After); default 5 min. */
  rateLimitBudgetMs?: number | undefined;
  clock?: Clock | undefined;
}

type Query = Record<string, string | number | boolean | undefined>;

export interface CloudflareRequestOptions {
  query?: Query | undefined;
  body?: unknown;
  /** No retries: a create whose lost answer may have succeeded (the caller looks before trying again). */
  noRetry?: boolean | undefined;
}

/**
 * A small fetch-based client for Cloudflare's v4 API: bearer token, timeouts, the `{success, errors, messages, result}`
 * envelope, `result_info` pagination, and waiting the API's way: 429 waits for Retry-After (within a budget), 5xx and
 * network failures back off exponentially, all on the injected clock. Errors name the call, never the token.
 */
export class CloudflareClient {
  readonly #token: string;
  readonly #baseUrl: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #attempts: number;
  readonly #rateLimitBudgetMs: number;
  readonly #clock: Clock;

  constructor(options: CloudflareClientOptions) {
    if (!options.token) throw new CrabboxError('invalid_config', 'a Cloudflare API token is required for tunnel mode', { hint: 'set CLOUDFLARE_API_TOKEN for the coordinator (docs/tunnel.md)' });
    this.#token = options.token;
    this.#baseUrl = (options.baseUrl ?? CLOUDFLARE_API_URL).replace(/\/+$/, '');
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#attempts = Math.max(1, options.attempts ?? 4);
    this.#rateLimitBudgetMs = options.rateLimitBudgetMs ?? 5 * 60_000;
    this.#clock = options.clock ?? systemClock;
  }

  /** One call, retried the API's way; returns the envelope's `result`. */
  async request<T>(method: string, path: string, options: CloudflareRequestOptions = {}): Promise<T> {
    return (await this.#withRetries<T>(method, path, options)).result;
  }

  /** Every item of a paginated list, page by page until `result_info` says the last one was read. */
  async listAll<T>(path: string, query: Query = {}): Promise<T[]> {
    const items: T[] = [];
    for (let page = 1; page <= 1000; page++) {
      const answer = await this.#withRetries<T[]>('GET', path, { query: { ...query, page, per_page: PER_PAGE } });
      items.push(...(answer.result ?? []));
      const info = answer.result_info;
      const pages = info?.total_pages ?? (info ? Math.ceil(info.total_count / Math.max(1, info.per_page)) : 1);
      if (!info || page >= pages || (answer.result ?? []).length === 0) break;
    }
    return items;
  }

  async #withRetries<T>(method: string, path: string, options: CloudflareRequestOptions): Promise<Envelope<T>> {
    const started = this.#clock.now();
    let transient = 0;
    for (;;) {
      try {
        return await this.#once<T>(method, path, options);
      } catch (error) {
        if (options.noRetry || !(error instanceof CloudflareApiError)) throw error;
        let delay: number;
        if (error.status === 429 && this.#clock.now() - started < this.#rateLimitBudgetMs) delay = error.retryAfterMs ?? Math.min(1000 * 2 ** transient++, 60_000);
        else if ((error.status >= 500 || error.status === 0) && ++transient < this.#attempts) delay = Math.min(500 * 2 ** (transient - 1), 8_000);
        else throw error;
        await this.#clock.sleep(delay);
      }
    }
  }

  async #once<T>(method: string, path: string, options: CloudflareRequestOptions): Promise<Envelope<T>> {
    const what = `cloudflare ${method} ${path}`;
    const sent = await bearerRequest({ fetch: this.#fetch, baseUrl: this.#baseUrl, method, path, token: this.#token, query: options.query, body: options.body, timeoutMs: this.#timeoutMs }, what);
    if ('noAnswer' in sent) throw new CloudflareApiError({ status: 0, codes: [], message: sent.noAnswer.message });
    const { response } = sent;
    const text = await response.text();
    let json: Partial<Envelope<T>> | undefined;
    try {
      json = text ? (JSON.parse(text) as Partial<Envelope<T>>) : undefined;
    } catch {
      json = undefined;
    }
    if (!response.ok || !json || json.success !== true) {
      const errors = Array.isArray(json?.errors) ? json.errors : [];
      const said = errors.map((e) => `${e.message} (${e.code})`).join('; ') || `http ${response.status}`;
      const retryAfter = Number(response.headers.get('retry-after'));
      throw new CloudflareApiError({
        status: response.status,
        codes: errors.map((e) => e.code),
        message: `${what}: ${redact(said).slice(0, 300)}`,
        retryAfterMs: response.status === 429 && Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, 300) * 1000 : undefined,
      });
    }
    return json as Envelope<T>;
  }
}
