import type { Context } from 'hono';
import { CrabboxError } from '../../domain/errors.ts';
import { newToken } from '../../domain/ids.ts';
import type { LoginRecord } from '../../storage/store.ts';
import { audit } from '../audit.ts';
import { startWebSession } from '../auth/web-session.ts';
import type { AppEnv } from '../env.ts';
import { denied } from '../middleware/auth.ts';
import { rateLimitKey, sourceAddress } from '../source-address.ts';
import type { CheckOutcome } from './checks.ts';
import { clearBrowserCookie, newCsrfToken, setBrowserCookie } from './confirm.ts';
import { githubLogin, LOGIN_TTL_MS, toGitHub } from './flow.ts';
import { loginPage, PAGE_HEADERS } from './pages.ts';
import { sha256Hex } from '../../auth/digest.ts';
import { newLoginId, newState, ownerForGitHubUser } from './secrets.ts';

/**
 * The dashboard's sign-in: the same GitHub login as `crabbox login`, started by the browser that finishes it. The
 * sign-in form's POST makes a login of kind `web`, confirmed at once by this browser (the `cbx_login_<id>` cookie whose
 * hash the login keeps), and sends the browser to GitHub; the one callback (routes/login.ts) runs the same checks and,
 * for a web login, starts a browser session instead of handing out a code. There is no phrase to compare: nothing
 * else started this login, and a callback reaching another browser (a link sent to a victim) lacks the cookie and is
 * refused, so nobody can sign someone else's browser in as themselves. No CLI secret exists, so no token can be polled.
 */
export async function startWebLogin(c: Context<AppEnv>): Promise<Response> {
  const gh = githubLogin(c);
  const { store, clock, config } = c.var.deps;
  const now = clock.now();
  const state = newState();
  const address = sourceAddress(c);
  const login = {
    id: newLoginId(), stateHash: sha256Hex(state), secretHash: sha256Hex(newToken(32)), source: rateLimitKey(address), address, kind: 'web' as const,
    createdAt: now, expiresAt: now + LOGIN_TTL_MS,
  };
  const created = await store.createLogin(login, { maxPending: config.login.maxPending, maxPendingPerSource: config.login.maxPendingPerSource, now });
  if (created !== 'created') {
    await denied(c, created === 'too-many' ? 'too-many-logins' : 'too-many-logins-from-source');
    throw new CrabboxError('rate_limited', created === 'too-many' ? 'too many sign-ins are pending on this coordinator; try again in a few minutes' : 'too many sign-ins are pending from your address; finish one or wait for them to expire (10 minutes)');
  }
  const binding = newCsrfToken();
  await store.confirmLogin(login.id, { browserHash: sha256Hex(binding), now });
  setBrowserCookie(c, login.id, binding);
  return toGitHub(c, gh, state, 303);
}

/** The callback of a web login whose GitHub checks passed: the login is used up and a browser session begins. */
export async function finishWebLogin(c: Context<AppEnv>, login: LoginRecord, outcome: Extract<CheckOutcome, { ok: true }>): Promise<Response> {
  const { store, clock } = c.var.deps;
  const owner = ownerForGitHubUser(outcome.user.id);
  const done = await store.updateLogin(login.id, ['checking'], { status: 'delivered', owner, org: outcome.org, login: outcome.user.login });
  if (!done) return c.body(loginPage('Login link already used', 'This sign-in was already used and cannot be used again. Sign in again from the dashboard.'), 409, PAGE_HEADERS);
  await audit(store, { type: 'auth.login', at: clock.now(), actor: owner, owner, org: outcome.org, data: { login: outcome.user.login, via: 'github-web' } });
  await startWebSession(c, { owner, org: outcome.org, login: outcome.user.login });
  clearBrowserCookie(c, login.id);
  return c.redirect('/', 303);
}
