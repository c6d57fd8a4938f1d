import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';

/**
 * A fake GitHub for login tests, served on 127.0.0.1: an authorize page that sends the browser back with
 * code + state, the token exchange, /user, /user/emails, org membership and team membership, with GitHub's
 * real HTTP shapes and error bodies. Tests choose who "signs in" and can inject failures.
 */

export interface FakeGitHubUser {
  id: number;
  login: string;
  emails?: { email: string; primary: boolean; verified: boolean; visibility: string | null }[];
  /** org -> membership state */
  orgs?: Record<string, 'active' | 'pending'>;
  /** `org/team-slug` -> membership state */
  teams?: Record<string, 'active' | 'pending'>;
}

export interface FakeGitHub {
  url: string;
  clientId: string;
  clientSecret: string;
  users: Map<string, FakeGitHubUser>;
  /** The login the next authorize page signs in as. */
  signInAs(login: string): void;
  /** Makes every request whose path starts with `prefix` answer `status` with GitHub's error body. */
  fail(prefix: string, status: number): void;
  /** Forgets injected failures. */
  clearFailures(): void;
  /** Paths requested, in order (no tokens). */
  requests: string[];
  /** Access tokens handed out and still valid. */
  issuedTokens(): number;
  close(): Promise<void>;
}

const DOCS = 'https://docs.github.com/rest';
const notFound = { message: 'Not Found', documentation_url: DOCS, status: '404' };
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Starts the fake on a free loopback port. */
export async function startFakeGitHub(options: { callbackUrl?: string } = {}): Promise<FakeGitHub> {
  const clientId = 'Iv1.fakeclientid0001';
  const clientSecret = `fake-secret-${randomBytes(8).toString('hex')}`;
  const users = new Map<string, FakeGitHubUser>();
  const codes = new Map<string, { login: string; redirectUri: string }>();
  const tokens = new Map<string, string>();
  const failures: { prefix: string; status: number }[] = [];
  const requests: string[] = [];
  let signedIn = '';
  const app = new Hono();

  app.use('*', async (c, next) => {
    requests.push(`${c.req.method} ${c.req.path}`);
    const failure = failures.find((f) => c.req.path.startsWith(f.prefix));
    if (failure) return c.json({ message: failure.status >= 500 ? 'Server Error' : 'Forbidden', documentation_url: DOCS }, failure.status as 500);
    await next();
  });

  app.get('/login/oauth/authorize', (c) => {
    const q = c.req.query();
    if (q.client_id !== clientId) return c.html('<h1>404</h1><p>The OAuth application was not found.</p>', 404);
    if (!q.redirect_uri || (options.callbackUrl && q.redirect_uri !== options.callbackUrl)) return c.html('<h1>The redirect_uri is not associated with this application.</h1>', 400);
    const fields = ['redirect_uri', 'state'].map((k) => `<input type="hidden" name="${k}" value="${escapeHtml(q[k] ?? '')}">`).join('');
    return c.html(`<!doctype html><title>Authorize application</title><h1>Authorize crabbox</h1><p>Signed in as ${escapeHtml(signedIn)}</p>
<form method="post" action="/login/oauth/authorize">${fields}<button id="authorize" type="submit">Authorize</button></form>`);
  });

  app.post('/login/oauth/authorize', async (c) => {
    const form = await c.req.parseBody();
    const code = randomBytes(10).toString('hex');
    const redirectUri = String(form.redirect_uri ?? '');
    codes.set(code, { login: signedIn, redirectUri });
    const target = new URL(redirectUri);
    target.searchParams.set('code', code);
    target.searchParams.set('state', String(form.state ?? ''));
    return c.redirect(target.toString(), 302);
  });

  app.post('/login/oauth/access_token', async (c) => {
    const body = c.req.header('content-type')?.includes('json') ? ((await c.req.json()) as Record<string, string>) : ((await c.req.parseBody()) as Record<string, string>);
    if (body.client_id !== clientId || body.client_secret !== clientSecret) {
      return c.json({ error: 'incorrect_client_credentials', error_description: 'The client_id and/or client_secret passed are incorrect.', error_uri: '/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#incorrect-client-credentials' });
    }
    const grant = codes.get(body.code ?? '');
    codes.delete(body.code ?? '');
    if (!grant) {
      return c.json({ error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.', error_uri: '/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code' });
    }
    if (body.redirect_uri && body.redirect_uri !== grant.redirectUri) {
      return c.json({ error: 'redirect_uri_mismatch', error_description: 'The redirect_uri MUST match the registered callback URL for this application.', error_uri: '/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#redirect-uri-mismatch2' });
    }
    const token = `gho_${randomBytes(18).toString('hex')}`;
    tokens.set(token, grant.login);
    return c.json({ access_token: token, token_type: 'bearer', scope: 'read:org,user:email' });
  });

  const api = new Hono<{ Variables: { user: FakeGitHubUser } }>();
  api.use('*', async (c, next) => {
    const token = /^(?:Bearer|token) (\S+)$/.exec(c.req.header('authorization') ?? '')?.[1];
    const user = token ? users.get(tokens.get(token) ?? '') : undefined;
    if (!user) return c.json({ message: 'Bad credentials', documentation_url: DOCS, status: '401' }, 401);
    c.set('user', user);
    await next();
  });
  api.get('/user', (c) => {
    const u = c.var.user;
    return c.json({ login: u.login, id: u.id, node_id: `U_${u.id}`, type: 'User', site_admin: false, name: u.login, email: null });
  });
  api.get('/user/emails', (c) => c.json(c.var.user.emails ?? [{ email: `${c.var.user.login}@example.com`, primary: true, verified: true, visibility: 'private' }]));
  api.get('/user/memberships/orgs/:org', (c) => {
    const org = c.req.param('org').toLowerCase();
    const state = c.var.user.orgs?.[org];
    if (!state) return c.json(notFound, 404);
    return c.json({ url: `/orgs/${org}/memberships/${c.var.user.login}`, state, role: 'member', organization_url: `/orgs/${org}`, organization: { login: org, id: 1 }, user: { login: c.var.user.login, id: c.var.user.id } });
  });
  api.get('/orgs/:org/teams/:team/memberships/:username', (c) => {
    const { org, team, username } = c.req.param();
    const user = users.get(username.toLowerCase());
    const state = user?.teams?.[`${org.toLowerCase()}/${team.toLowerCase()}`];
    if (!state) return c.json(notFound, 404);
    return c.json({ url: `/teams/1/memberships/${username}`, role: 'member', state });
  });
  app.route('/api', api);

  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    clientId,
    clientSecret,
    users,
    signInAs: (login) => void (signedIn = login),
    fail: (prefix, status) => void failures.push({ prefix, status }),
    clearFailures: () => void failures.splice(0),
    requests,
    issuedTokens: () => tokens.size,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    }),
  };
}

/** Adds a user to the fake (logins are stored lowercase, as GitHub compares them). */
export function addUser(github: FakeGitHub, user: FakeGitHubUser): void {
  github.users.set(user.login.toLowerCase(), user);
}
