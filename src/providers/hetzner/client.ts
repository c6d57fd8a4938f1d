import { systemClock } from '../../domain/clock.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { redact } from '../../redact/redact.ts';

export const HETZNER_API_URL = 'https://api.hetzner.cloud/v1';
/** Hetzner's largest page size. */
export const MAX_PER_PAGE = 50;

/** How a failed call should be treated by the caller. */
export type ErrorClass = 'capacity' | 'quota' | 'not-found' | 'retryable' | 'fatal';

/** An error answered by the Hetzner Cloud API (`{"error": {"code", "message", "details"}}`) or a transport failure. */
export class HetznerApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  constructor(options: { status: number; code: string; message: string; details?: unknown }) {
    super(options.message);
    this.name = 'HetznerApiError';
    this.status = options.status;
    this.code = options.code;
    this.details = options.details;
  }
}

// Codes that mean "this type/location cannot be had right now": try the next candidate.
const CAPACITY_CODES = new Set(['resource_unavailable', 'placement_error']);
// Codes that mean "your account may not have more of this": another type may still fit.
const QUOTA_CODES = new Set(['resource_limit_exceeded', 'dedicated_core_limit']);
const RETRYABLE_CODES = new Set(['rate_limit_exceeded', 'server_error', 'service_error', 'unavailable', 'maintenance', 'timeout', 'locked', 'conflict', 'network_error']);

/** Sorts any error from the client into what the provider should do about it. */
export function classify(error: unknown): ErrorClass {
  if (!(error instanceof HetznerApiError)) return 'fatal';
  if (CAPACITY_CODES.has(error.code)) return 'capacity';
  if (QUOTA_CODES.has(error.code)) return 'quota';
  // Some capacity rejections arrive as invalid_input naming the type or location; the text is the only signal.
  if (error.code === 'invalid_input' && /server_type_not_available|location_not_available|not available in/i.test(error.message)) return 'capacity';
  if (error.code === 'not_found' || error.status === 404) return 'not-found';
  if (RETRYABLE_CODES.has(error.code) || error.status === 429 || error.status >= 500) return 'retryable';
  return 'fatal';
}

export interface Pagination {
  page: number;
  per_page: number;
  previous_page: number | null;
  next_page: number | null;
  last_page: number | null;
  total_entries: number | null;
}

export type Sleep = (ms: number) => Promise<void>;
export const realSleep: Sleep = (ms) => systemClock.sleep(ms);

export interface HetznerClientOptions {
  token: string;
  /** Base URL including `/v1`; the fake API in tests. */
  baseUrl?: string | undefined;
  fetch?: typeof fetch | undefined;
  /** Per-request timeout. */
  timeoutMs?: number | undefined;
  /** Attempts for retryable failures (rate limits, 5xx, network), with backoff through `sleep`. */
  attempts?: number | undefined;
  sleep?: Sleep | undefined;
}

type Query = Record<string, string | number | undefined>;

/** A small fetch-based Hetzner Cloud REST client: bearer auth, timeouts, retries for transient failures, pagination. */
export class HetznerClient {
  readonly #token: string;
  readonly #baseUrl: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #attempts: number;
  readonly #sleep: Sleep;

  constructor(options: HetznerClientOptions) {
    if (!options.token) throw new CrabboxError('invalid_config', 'a Hetzner Cloud API token is required', { hint: 'set HCLOUD_TOKEN (or HETZNER_TOKEN) in the environment' });
    this.#token = options.token;
    this.#baseUrl = (options.baseUrl ?? HETZNER_API_URL).replace(/\/+$/, '');
    this.#fetch = options.fetch ?? fetch;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#attempts = Math.max(1, options.attempts ?? 3);
    this.#sleep = options.sleep ?? realSleep;
  }

  /**
   * One API call; retries only failures classified as retryable. Returns undefined for 204.
   * `noRetry` is for calls that are not idempotent (a create whose answer was lost may have succeeded).
   */
  async request<T>(method: string, path: string, options: { query?: Query; body?: unknown; noRetry?: boolean } = {}): Promise<T> {
    let last: unknown;
    const attempts = options.noRetry ? 1 : this.#attempts;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        return await this.#once<T>(method, path, options);
      } catch (error) {
        last = error;
        if (classify(error) !== 'retryable' || attempt === attempts) throw error;
        await this.#sleep(Math.min(500 * 2 ** (attempt - 1), 5_000));
      }
    }
    throw last;
  }

  async #once<T>(method: string, path: string, options: { query?: Query; body?: unknown }): Promise<T> {
    const url = new URL(this.#baseUrl + path);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method,
        headers: { authorization: `Bearer ${this.#token}`, ...(options.body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      throw new HetznerApiError({ status: 0, code: timedOut ? 'timeout' : 'network_error', message: `hetzner ${method} ${path}: ${timedOut ? `no answer within ${this.#timeoutMs}ms` : redact((error as Error).message)}` });
    }
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const err = (json as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
      throw new HetznerApiError({
        status: response.status,
        code: err?.code ?? (response.status >= 500 ? 'server_error' : 'http_error'),
        message: `hetzner ${method} ${path}: ${redact(err?.message ?? `http ${response.status}`).slice(0, 300)}`,
        details: err?.details,
      });
    }
    return json as T;
  }

  /** Every item of a paginated list, following `meta.pagination.next_page`. */
  async listAll<T>(path: string, key: string, query: Query = {}): Promise<T[]> {
    const items: T[] = [];
    let page: number | null = 1;
    for (let guard = 0; page !== null && guard < 1000; guard++) {
      const body: Record<string, unknown> & { meta?: { pagination?: Pagination } } = await this.request('GET', path, { query: { ...query, page, per_page: MAX_PER_PAGE } });
      items.push(...((body[key] as T[] | undefined) ?? []));
      page = body.meta?.pagination?.next_page ?? null;
    }
    return items;
  }
}

/** The token for direct mode: HCLOUD_TOKEN, then HETZNER_TOKEN. */
export function tokenFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  return env.HCLOUD_TOKEN || env.HETZNER_TOKEN || undefined;
}
