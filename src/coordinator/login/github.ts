/**
 * A small GitHub client for the login callback: exchange the OAuth code, read the user and their verified primary
 * email, check org and team membership. Base URLs are configurable (GitHub Enterprise, the tests' fake). The
 * access token it gets lives only in the caller's stack frame: it is never stored or logged.
 */

export interface GitHubEndpoints {
  /** Web base, e.g. https://github.com (authorize page and token exchange). */
  webUrl: string;
  /** REST base, e.g. https://api.github.com (Enterprise: https://HOST/api/v3). */
  apiUrl: string;
}

export interface GitHubUser {
  id: number;
  login: string;
  name?: string | undefined;
}

export type MembershipState = 'active' | 'pending' | 'none';

/** A GitHub answer we cannot use: HTTP failure, error body, or an unexpected shape. `detail` is safe to show. */
export class GitHubError extends Error {
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.name = 'GitHubError';
    this.status = status;
  }
}

const TIMEOUT_MS = 10_000;
const trim = (url: string) => url.replace(/\/+$/, '');

/** The browser URL that asks the user to authorize the app; `read:org` lets us see private org and team membership. */
export function authorizeUrl(endpoints: GitHubEndpoints, input: { clientId: string; redirectUri: string; state: string }): string {
  const url = new URL(`${trim(endpoints.webUrl)}/login/oauth/authorize`);
  url.searchParams.set('client_id', input.clientId);
  url.searchParams.set('redirect_uri', input.redirectUri);
  url.searchParams.set('scope', 'read:org user:email');
  url.searchParams.set('state', input.state);
  url.searchParams.set('allow_signup', 'false');
  return url.toString();
}

async function readJson(res: Response, what: string): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new GitHubError(`GitHub ${what} answered ${res.status} with a non-JSON body`, res.status);
  }
}

/** The talking part, bound to one OAuth app and one set of endpoints. */
export class GitHubClient {
  readonly #endpoints: GitHubEndpoints;
  readonly #fetch: typeof fetch;

  constructor(options: { endpoints: GitHubEndpoints; fetch?: typeof fetch }) {
    this.#endpoints = options.endpoints;
    // Called as a plain function: a method call would bind `this` to the client, which Workers refuse (Illegal invocation).
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** POST /login/oauth/access_token. GitHub answers 200 with {error, error_description} for a bad code. */
  async exchangeCode(input: { clientId: string; clientSecret: string; code: string; redirectUri: string }): Promise<string> {
    const res = await this.#fetch(`${trim(this.#endpoints.webUrl)}/login/oauth/access_token`, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/json', 'user-agent': 'crabbox-coordinator' },
      body: JSON.stringify({ client_id: input.clientId, client_secret: input.clientSecret, code: input.code, redirect_uri: input.redirectUri }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const body = (await readJson(res, 'token exchange')) as { access_token?: unknown; error?: unknown; error_description?: unknown };
    if (!res.ok) throw new GitHubError(`GitHub token exchange failed with HTTP ${res.status}`, res.status);
    if (typeof body.error === 'string') throw new GitHubError(`GitHub refused the login code: ${body.error}${typeof body.error_description === 'string' ? ` (${body.error_description.slice(0, 200)})` : ''}`, res.status);
    if (typeof body.access_token !== 'string' || body.access_token === '') throw new GitHubError('GitHub token exchange returned no access token', res.status);
    return body.access_token;
  }

  async #get(token: string, path: string): Promise<{ status: number; body: unknown }> {
    const res = await this.#fetch(`${trim(this.#endpoints.apiUrl)}${path}`, {
      headers: { accept: 'application/vnd.github+json', authorization: `Bearer ${token}`, 'x-github-api-version': '2022-11-28', 'user-agent': 'crabbox-coordinator' },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    return { status: res.status, body: await readJson(res, `GET ${path.split('/').slice(0, 3).join('/')}`) };
  }

  #fail(path: string, status: number, body: unknown): never {
    const message = typeof (body as { message?: unknown })?.message === 'string' ? String((body as { message: string }).message).slice(0, 200) : `HTTP ${status}`;
    throw new GitHubError(`GitHub ${path} failed: ${status} ${message}`, status);
  }

  /** GET /user. */
  async user(token: string): Promise<GitHubUser> {
    const { status, body } = await this.#get(token, '/user');
    if (status !== 200) this.#fail('/user', status, body);
    const u = body as { id?: unknown; login?: unknown; name?: unknown };
    if (typeof u.id !== 'number' || !Number.isInteger(u.id) || typeof u.login !== 'string' || !/^[A-Za-z0-9-]{1,39}$/.test(u.login)) throw new GitHubError('GitHub /user returned an unexpected shape');
    return { id: u.id, login: u.login, name: typeof u.name === 'string' ? u.name : undefined };
  }

  /** GET /user/emails: the primary address when it is verified, else undefined. */
  async verifiedPrimaryEmail(token: string): Promise<string | undefined> {
    const { status, body } = await this.#get(token, '/user/emails');
    if (status !== 200) this.#fail('/user/emails', status, body);
    if (!Array.isArray(body)) throw new GitHubError('GitHub /user/emails returned an unexpected shape');
    const primary = body.find((e: { primary?: unknown; verified?: unknown; email?: unknown }) => e?.primary === true && e?.verified === true && typeof e?.email === 'string');
    return primary ? String(primary.email) : undefined;
  }

  /** GET /user/memberships/orgs/{org}: 404 (and 403 for orgs that hide it) means not a member. */
  async orgMembership(token: string, org: string): Promise<MembershipState> {
    const path = `/user/memberships/orgs/${encodeURIComponent(org)}`;
    const { status, body } = await this.#get(token, path);
    if (status === 404 || status === 403) return 'none';
    if (status !== 200) this.#fail(path, status, body);
    return stateOf(body, path);
  }

  /** GET /orgs/{org}/teams/{team_slug}/memberships/{username}: 404 means not a member. */
  async teamMembership(token: string, org: string, team: string, username: string): Promise<MembershipState> {
    const path = `/orgs/${encodeURIComponent(org)}/teams/${encodeURIComponent(team)}/memberships/${encodeURIComponent(username)}`;
    const { status, body } = await this.#get(token, path);
    if (status === 404 || status === 403) return 'none';
    if (status !== 200) this.#fail(path, status, body);
    return stateOf(body, path);
  }
}

function stateOf(body: unknown, path: string): MembershipState {
  const state = (body as { state?: unknown })?.state;
  if (state === 'active' || state === 'pending') return state;
  throw new GitHubError(`GitHub ${path} returned an unexpected membership state`);
}
