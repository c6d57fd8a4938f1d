import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { ENDPOINTS } from '../../api/endpoints.ts';
import { serveEndpoint } from '../serve-endpoint.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { audit } from '../audit.ts';
import { isoTime } from '../iso.ts';
import type { AppEnv } from '../env.ts';
import { checkGitHubLogin } from '../login/checks.ts';
import { callbackUrl, githubLogin as github, LOGIN_TTL_MS, publicBase, toGitHub } from '../login/flow.ts';
import { finishWebLogin } from '../login/web.ts';
import { confirmedHere, csrfOk, newCsrfToken, setBrowserCookie, setCsrfCookie, startedText } from '../login/confirm.ts';
import { confirmPage, loginPage, PAGE_HEADERS } from '../login/pages.ts';
import { newPhrase } from '../login/phrase.ts';
import { rateLimitKey, sourceAddress } from '../source-address.ts';
import { sha256Hex } from '../../auth/digest.ts';
import { mintUserToken, newLoginCode, newLoginId, newState, normalizeLoginCode, ownerForGitHubUser } from '../login/secrets.ts';
import { constantTimeEqual } from '../auth/identity.ts';
import { denied } from '../middleware/auth.ts';
import type { LoginRecord, LoginStore } from '../../storage/store.ts';

/**
 * Browser login (`crabbox login`): start (the CLI gets a link and a phrase) -> the link opens a confirmation page
 * (when, from where, the phrase) -> a POST from that page confirms it, binds it to this browser by a cookie and
 * sends the browser to GitHub -> callback (single use, only from the confirming browser) -> the CLI collects its
 * token exactly once by polling with the secret whose hash started the login AND the one-time code the approved
 * callback handed to the browser. With a port the code travels in the redirect to http://127.0.0.1:<port>/callback
 * (the CLI's machine); without one the page shows it and the person types it into the terminal.
 * The confirmation is what stops a local account that starts a login with its own loopback port and sends the link
 * to a victim: the victim sees a phrase their terminal never printed (docs/security.md, finding 6).
 */

export { LOGIN_TTL_MS };
export const POLL_INTERVAL_SECONDS = 2;



const page = (c: Context<AppEnv>, status: number, title: string, message: string) => c.body(loginPage(title, message), status as 200, PAGE_HEADERS);
const alreadyUsed = (c: Context<AppEnv>) => page(c, 409, 'Login link already used', 'This login callback was already used and cannot be used again. Run crabbox login again.');

/** The browser login routes, mounted at /v1/login without bearer auth (they are how a token is obtained). */
export function loginRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  // Without GitHub login configured the start answers 404 before it looks at the body.
  const needsGitHub: MiddlewareHandler<AppEnv> = async (c, next) => {
    github(c);
    await next();
  };
  serveEndpoint(routes, '/v1/login', ENDPOINTS.loginStart, needsGitHub, async (c, { body: input }) => {
    const { store, clock, config } = c.var.deps;
    const now = clock.now();
    const state = newState();
    const address = sourceAddress(c);
    const login = {
      id: newLoginId(), stateHash: sha256Hex(state), secretHash: input.secretHash, source: rateLimitKey(address), address, phrase: newPhrase(),
      port: input.port, createdAt: now, expiresAt: now + LOGIN_TTL_MS,
    };
    const created = await store.createLogin(login, { maxPending: config.login.maxPending, maxPendingPerSource: config.login.maxPendingPerSource, now });
    if (created !== 'created') {
      await denied(c, created === 'too-many' ? 'too-many-logins' : 'too-many-logins-from-source');
      throw new CrabboxError('rate_limited', created === 'too-many' ? 'too many logins are pending on this coordinator; try again in a few minutes' : 'too many logins are pending from your address; finish or wait for them to expire (10 minutes)');
    }
    const authorize = new URL(`${publicBase(c)}/v1/login/authorize`);
    authorize.searchParams.set('state', state);
    return { loginId: login.id, authorizeUrl: authorize.toString(), expiresAt: isoTime(login.expiresAt), pollIntervalSeconds: POLL_INTERVAL_SECONDS, phrase: login.phrase };
  });

  /** A usable login for a link's state, or the page saying why not. */
  async function linkLogin(c: Context<AppEnv>, state: string): Promise<LoginRecord | Response> {
    const found = /^[0-9a-f]{48}$/.test(state) ? await c.var.deps.store.getLoginByState(sha256Hex(state)) : undefined;
    // The dashboard's own sign-in never goes through a link: its browser went straight to GitHub.
    const login = found?.kind === 'cli' ? found : undefined;
    if (!login) return page(c, 404, 'Unknown login', 'This login link is not valid. Run crabbox login again.');
    if (login.status !== 'pending') return page(c, 409, 'Login link already used', 'This login link was already used. Run crabbox login again.');
    if (c.var.deps.clock.now() >= login.expiresAt) return page(c, 410, 'Login expired', 'This login link has expired. Run crabbox login again.');
    return login;
  }


  // The link the CLI printed: a confirmation page (when, from where, the phrase), never a redirect straight to GitHub.
  routes.get('/authorize', async (c) => {
    const gh = github(c);
    const state = c.req.query('state') ?? '';
    const login = await linkLogin(c, state);
    if (login instanceof Response) return login;
    if (login.confirmedAt !== undefined) {
      // The browser that confirmed may come back (GitHub page closed); any other browser is refused.
      if (await confirmedHere(c, login)) return toGitHub(c, gh, state, 302);
      return page(c, 409, 'Login already confirmed', 'This login was already confirmed in another browser. If that was not you, run crabbox login again.');
    }
    const csrf = newCsrfToken();
    setCsrfCookie(c, login.id, csrf);
    const { clock, config } = c.var.deps;
    return c.body(confirmPage({
      action: `${publicBase(c)}/v1/login/authorize`, state, csrf, phrase: login.phrase ?? '(none: the CLI that started this login is older and printed no phrase)',
      started: startedText(login.createdAt, clock.now()), from: login.address ?? 'an unknown address',
    }), 200, PAGE_HEADERS);
  });

  // The confirmation: same-origin POST with the token from the page's cookie; the browser gets the cookie the callback checks.
  routes.post('/authorize', async (c) => {
    const gh = github(c);
    const form = await c.req.parseBody().catch(() => ({} as Record<string, unknown>));
    const state = typeof form.state === 'string' ? form.state : '';
    const csrf = typeof form.csrf === 'string' ? form.csrf : '';
    const login = await linkLogin(c, state);
    if (login instanceof Response) return login;
    if (!(await csrfOk(c, login.id, csrf))) {
      await denied(c, 'login-confirm-forged');
      return page(c, 403, 'Confirmation refused', 'This confirmation did not come from the confirmation page in this browser. Open the link your terminal printed and confirm there.');
    }
    const binding = newCsrfToken();
    const confirmed = await c.var.deps.store.confirmLogin(login.id, { browserHash: sha256Hex(binding), now: c.var.deps.clock.now() });
    if (!confirmed) {
      if (await confirmedHere(c, login)) return toGitHub(c, gh, state, 303);
      return page(c, 409, 'Login already confirmed', 'This login was already confirmed in another browser. If that was not you, run crabbox login again.');
    }
    setBrowserCookie(c, login.id, binding);
    return toGitHub(c, gh, state, 303);
  });

  routes.get('/callback', async (c) => {
    const gh = github(c);
    const { store, clock } = c.var.deps;
    const q = c.req.query();
    const state = q.state ?? '';
    const login = /^[0-9a-f]{48}$/.test(state) ? await store.getLoginByState(sha256Hex(state)) : undefined;
    if (!login) {
      await denied(c, 'unknown-login');
      return page(c, 400, 'Unknown login', 'This login callback does not match a login in progress. Run crabbox login again.');
    }
    if (login.status !== 'pending') {
      await denied(c, 'replayed-callback');
      return alreadyUsed(c);
    }
    if (clock.now() >= login.expiresAt) {
      await store.updateLogin(login.id, ['pending'], { status: 'denied', message: 'the login expired before GitHub answered (10 minutes)' });
      await denied(c, 'login-expired');
      return page(c, 410, 'Login expired', 'This login took longer than 10 minutes and has expired. Run crabbox login again.');
    }
    // Only the browser that confirmed the login may finish it: a GitHub link built from someone else's login, or a
    // link confirmed in their browser and then sent on, ends here, before any code is exchanged.
    if (!(await confirmedHere(c, login))) {
      await store.updateLogin(login.id, ['pending'], { status: 'denied', message: 'the login was not confirmed in the browser that finished it' });
      await denied(c, 'login-not-confirmed');
      return page(c, 403, 'Login not confirmed', 'This login was not confirmed in this browser, so it was stopped. If you started it, run crabbox login again and confirm the phrase on the page its link opens.');
    }
    // Claim the callback before talking to GitHub: a concurrent or later callback finds it taken and is refused.
    const claimed = await store.updateLogin(login.id, ['pending'], { status: 'checking' });
    if (!claimed) {
      await denied(c, 'replayed-callback');
      return alreadyUsed(c);
    }
    const outcome = q.error
      ? { ok: false as const, reason: 'github-error' as const, login: undefined, message: q.error === 'access_denied' ? 'the GitHub authorization was cancelled' : `GitHub refused the authorization: ${q.error.slice(0, 60)}` }
      : await checkGitHubLogin({ github: gh, code: (q.code ?? '').slice(0, 200), redirectUri: callbackUrl(c) });
    if (!outcome.ok) {
      await store.updateLogin(login.id, ['checking'], { status: outcome.temporary ? 'failed' : 'denied', message: outcome.message });
      await audit(store, { type: 'auth.denied', at: clock.now(), actor: outcome.login ? `github:${outcome.login}` : 'anonymous', data: { reason: outcome.reason, method: 'GET', path: c.req.path, login: outcome.login } });
      // A GitHub failure is a bad gateway; a person cancelling on GitHub (error=access_denied) is a plain denial.
      const status = outcome.reason === 'github-error' && !q.error ? 502 : 403;
      return page(c, status, 'Login denied', `${outcome.message}.`.replace(/\.\.$/, '.'));
    }
    if (login.kind === 'web') return finishWebLogin(c, login, outcome);
    const owner = ownerForGitHubUser(outcome.user.id);
    const code = newLoginCode();
    const approved = await store.updateLogin(login.id, ['checking'], { status: 'approved', owner, org: outcome.org, login: outcome.user.login, codeHash: sha256Hex(normalizeLoginCode(code)) });
    if (!approved) return alreadyUsed(c);
    await audit(store, { type: 'auth.login', at: clock.now(), actor: owner, owner, org: outcome.org, data: { login: outcome.user.login, via: 'github' } });
    if (login.port) return c.redirect(`http://127.0.0.1:${login.port}/callback?login=${encodeURIComponent(login.id)}&code=${encodeURIComponent(code)}`, 302);
    return c.body(loginPage('Almost done', `Signed in to GitHub as ${outcome.user.login}. Type this code into the terminal where you ran crabbox login. If you did not start this login yourself, close this page and give the code to no one.`, code), 200, PAGE_HEADERS);
  });

  serveEndpoint(routes, '/v1/login', ENDPOINTS.loginPoll, async (c, { body: input }) => {
    const { store, clock, config } = c.var.deps;
    const found = await store.getLogin(input.loginId);
    // A dashboard sign-in ends in a browser session; there is never a token to collect for it.
    const login = found?.kind === 'cli' ? found : undefined;
    if (!login) throw new CrabboxError('not_found', 'no such login in progress', { hint: 'run `crabbox login` again' });
    if (!constantTimeEqual(sha256Hex(input.secret), login.secretHash)) {
      await denied(c, 'wrong-poll-secret');
      throw new CrabboxError('forbidden', 'this login was started by someone else (the poll secret does not match)');
    }
    if (login.status === 'approved' && input.code !== undefined && !constantTimeEqual(sha256Hex(normalizeLoginCode(input.code)), login.codeHash ?? '')) {
      // One attempt: a wrong code ends the login, so the code cannot be guessed.
      await store.updateLogin(login.id, ['approved'], { status: 'denied', message: 'the code did not match the one the browser showed' });
      await denied(c, 'wrong-login-code');
      throw new CrabboxError('forbidden', 'login denied: the code did not match the one the browser showed', { hint: 'run `crabbox login` again' });
    }
    return deliver(login, { store, now: clock.now(), ttlSeconds: config.login.userTokenTtlSeconds, secret: config.auth.sessionSecret, code: input.code });
  });

  return routes;
}

/** What a poll answers for a login: still pending, waiting for the code, the token (exactly once), or why not. */
async function deliver(login: LoginRecord, ctx: { store: LoginStore; now: number; ttlSeconds: number; secret: string | undefined; code: string | undefined }) {
  if (login.status === 'denied') throw new CrabboxError('forbidden', `login denied: ${login.message ?? 'no reason given'}`);
  if (login.status === 'failed') throw new CrabboxError('unavailable', `login failed: ${login.message ?? 'GitHub could not be reached'}`, { hint: 'a temporary GitHub problem; run `crabbox login` again in a minute' });
  if (login.status === 'delivered') throw new CrabboxError('conflict', 'the token for this login was already delivered', { hint: 'run `crabbox login` again' });
  if (ctx.now >= login.expiresAt) throw new CrabboxError('login_expired', 'this login expired (10 minutes) before it finished', { hint: 'run `crabbox login` again' });
  if (login.status !== 'approved') return { status: 'pending' as const };
  // Approved in the browser; the token waits for the code the browser was handed (checked by the caller).
  if (ctx.code === undefined) return { status: 'code-required' as const };
  if (!ctx.secret) throw new CrabboxError('unavailable', 'this coordinator has no session secret to sign user tokens');
  const delivered = await ctx.store.updateLogin(login.id, ['approved'], { status: 'delivered' });
  if (!delivered) throw new CrabboxError('conflict', 'the token for this login was already delivered', { hint: 'run `crabbox login` again' });
  const minted = await mintUserToken({ owner: login.owner!, org: login.org!, login: login.login!, now: ctx.now, ttlSeconds: ctx.ttlSeconds, secret: ctx.secret });
  return { status: 'approved' as const, token: minted.token, owner: login.owner!, org: login.org!, login: login.login!, expiresAt: isoTime(minted.expiresAt) };
}
