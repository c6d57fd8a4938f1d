import { systemClock, type Clock } from '../../domain/clock.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { redact } from '../../redact/redact.ts';
import { bearerRequest } from '../../net/bearer-request.ts';

export const HETZNER_API_URL = 'https://api.hetzner.cloud/v1';
/** Hetzner's largest page size. */
export const MAX_PER_PAGE = 50;

/** How a failed call should be treated by the caller. */
export type ErrorClass = 'capacity' | 'quota' | 'unsupported' | 'not-found' | 'locked' | 'rate-limited' | 'retryable' | 'fatal';

/** An error answered by the Hetzner Cloud API (`{"error": {"code", "message", "details"}}`) or a transport failure. */
export class HetznerApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  /** For 429: how long until the rate limit has a request to spare, from the RateLimit-* headers. */
  readonly retryAfterMs: number | undefined;
  constructor(options: { status: number; code: string; message: string; details?: unknown; retryAfterMs?: number | undefined }) {
    super(options.message);
    this.name = 'HetznerApiError';
    this.status = options.status;
    this.code = options.code;
    this.details = options.details;
    this.retryAfterMs = options.retryAfterMs;
  }
}

// Codes that mean "this type/location cannot be had right now": try the next candidate.
const CAPACITY_CODES = new Set(['resource_unavailable', 'placement_error']);
// Codes that mean "your account may not have more of this": another type may still fit.
const QUOTA_CODES = new Set(['resource_limit_exceeded', 'dedicated_core_limit']);
const RETRYABLE_CODES = new Set(['server_error', 'service_error', 'unavailable', 'maintenance', 'timeout', 'conflict', 'robot_unavailable', 'network_error']);

/** Sorts any error from the client into what the provider should do about it. */
export function classify(error: unknown): ErrorClass {
  if (!(error instanceof HetznerApiError)) return 'fatal';
  if (CAPACITY_CODES.has(error.code)) return 'capacity';
  if (QUOTA_CODES.has(error.code)) return 'quota';
  // A type not offered in a location arrives as invalid_input; the text is the only signal. Another location or
  // type may work, so it moves on like capacity (but is reported as what it is).
  if (error.code === 'invalid_input' && /unsupported location for server type/i.test(error.message)) return 'unsupported';
  if (error.code === 'invalid_input' && /server_type_not_available|location_not_available|not available in/i.test(error.message)) return 'capacity';
  if (error.code === 'not_found' || error.status === 404) return 'not-found';
  // An action is still running on the resource: it clears when the action ends.
  if (error.code === 'locked' || error.status === 423) return 'locked';
  if (error.code === 'rate_limit_exceeded' || error.status === 429) return 'rate-limited';
  if (RETRYABLE_CODES.has(error.code) || error.status >= 500) return 'retryable';
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

/** What the RateLimit-* headers of the last answer said (limit per hour, requests left, epoch ms when full again). */
export interface RateLimitState {
  limit: number;
  remaining: number;
  resetAt: number;
}

/** Reads Hetzner's RateLimit-Limit / -Remaining / -Reset (a UNIX timestamp in seconds) headers. */
export function readRateLimit(headers: Headers): RateLimitState | undefined {
  const limit = Number(headers.get('ratelimit-limit'));
  const remaining = Number(headers.get('ratelimit-remaining'));
  const reset = Number(headers.get('ratelimit-reset'));
  if (!headers.has('ratelimit-limit') || !Number.isFinite(limit) || limit <= 0 || !Number.isFinite(remaining) || !Number.isFinite(reset)) return undefined;
  return { limit, remaining: Math.max(0, remaining), resetAt: reset * 1000 };
}

/**
 * How long until the next request is allowed. Hetzner refills the budget evenly until it is full at `resetAt`
 * (3600 an hour is one a second), so one request's worth is the time left divided by the requests missing.
 */
export function nextRequestInMs(state: RateLimitState, now: number): number {
  const missing = state.limit - state.remaining;
  const untilFull = state.resetAt - now;
  if (missing <= 0 || untilFull <= 0) return 1000;
  return Math.min(60 * 60_000, Math.max(250, Math.ceil(untilFull / missing)));
}

export interface HetznerClientOptions {
  token: string;
  /** Base URL including `/v1`; the fake API in tests. */
  baseUrl?: string | undefined;
  fetch?: typeof fetch | undefined;
  /** Per-request timeout. */
  timeoutMs?: number | undefined;
  /** Attempts for transient failures (5xx, network, timeouts), with exponential backoff on the clock. */
  attempts?: number | undefined;
  /** How long a call keeps retrying while the resource is `locked` (an action runs on it); default 5 min. */
  lockedBudgetMs?: number | undefined;
  /** How long a call keeps waiting out 429s (paced by the RateLimit-* headers); default 15 min. */
  rateLimitBudgetMs?: number | undefined;
  /** All waiting goes through this clock. */
  clock?: Clock | undefined;
}

type Query = Record<string, string | number | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** No retries at all: for a create whose lost answer may have succeeded (the caller looks before trying again). */
  noRetry?: boolean;
  /** Overrides the client's locked budget for this call (e.g. a delete during a create waits as long as the create). */
  lockedBudgetMs?: number;
  /** Told before each retry (a caller can tell "deleted by my retried call" from "already gone"). */
  onRetry?: (error: HetznerApiError) => void;
}

/**
 * A small fetch-based Hetzner Cloud REST client: bearer auth, timeouts, pagination, and waiting the API's way:
 * transient failures back off exponentially, `locked` waits for the running action (within a budget), and 429s
 * follow the RateLimit-* headers; when the last answer said the budget is spent, the next call waits first.
 */
export class HetznerClient {
  readonly #token: string;
  readonly #baseUrl: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #attempts: number;
  readonly #lockedBudgetMs: number;
  readonly #rateLimitBudgetMs: number;
  readonly #clock: Clock;
  #rateLimit: RateLimitState | undefined;

  constructor(options: HetznerClientOptions) {
    if (!options.token) throw new CrabboxError('invalid_config', 'a Hetzner Cloud API token is required', { hint: 'set HCLOUD_TOKEN (or HETZNER_TOKEN) in the environment' });
    this.#token = options.token;
    this.#baseUrl = (options.baseUrl ?? HETZNER_API_URL).replace(/\/+$/, '');
    // Called as a plain function: a method call would bind `this` to the client, which Workers refuse (Illegal invocation).
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#attempts = Math.max(1, options.attempts ?? 3);
    this.#lockedBudgetMs = options.lockedBudgetMs ?? 5 * 60_000;
    this.#rateLimitBudgetMs = options.rateLimitBudgetMs ?? 15 * 60_000;
    this.#clock = options.clock ?? systemClock;
  }

  get clock(): Clock {
    return this.#clock;
  }

  /** The RateLimit-* state of the last answer, if the API sent one. */
  get rateLimit(): RateLimitState | undefined {
    return this.#rateLimit;
  }

  /** One API call, retried the API's way (see the class comment). Returns undefined for 204. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const started = this.#clock.now();
    let transient = 0;
    let locked = 0;
    for (;;) {
      await this.#paceForRateLimit();
      try {
        return await this.#once<T>(method, path, options);
      } catch (error) {
        if (options.noRetry || !(error instanceof HetznerApiError)) throw error;
        const waited = this.#clock.now() - started;
        const kind = classify(error);
        let delay: number;
        if (kind === 'retryable' && ++transient < this.#attempts) delay = Math.min(500 * 2 ** (transient - 1), 5_000);
        else if (kind === 'rate-limited' && waited < this.#rateLimitBudgetMs) delay = error.retryAfterMs ?? Math.min(1000 * 2 ** transient++, 60_000);
        else if (kind === 'locked' && waited < (options.lockedBudgetMs ?? this.#lockedBudgetMs)) delay = Math.min(1000 * 2 ** locked++, 10_000);
        else throw error;
        options.onRetry?.(error);
        await this.#clock.sleep(delay);
      }
    }
  }

  /** When the last answer said no requests are left, waits for the next one instead of spending a 429. */
  async #paceForRateLimit(): Promise<void> {
    const state = this.#rateLimit;
    if (!state || state.remaining > 0) return;
    const now = this.#clock.now();
    if (now >= state.resetAt) return;
    this.#rateLimit = { ...state, remaining: 1 };
    await this.#clock.sleep(nextRequestInMs(state, now));
  }

  async #once<T>(method: string, path: string, options: { query?: Query; body?: unknown }): Promise<T> {
    const sent = await bearerRequest({ fetch: this.#fetch, baseUrl: this.#baseUrl, method, path, token: this.#token, query: options.query, body: options.body, timeoutMs: this.#timeoutMs }, `hetzner ${method} ${path}`);
    if ('noAnswer' in sent) throw new HetznerApiError({ status: 0, code: sent.noAnswer.timedOut ? 'timeout' : 'network_error', message: sent.noAnswer.message });
    const { response } = sent;
    const rateLimit = readRateLimit(response.headers);
    if (rateLimit) this.#rateLimit = rateLimit;
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
        retryAfterMs: response.status === 429 && rateLimit ? nextRequestInMs(rateLimit, this.#clock.now()) : undefined,
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
