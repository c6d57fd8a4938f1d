import type { Context } from 'hono';
import { readWebSession } from '../../coordinator/auth/web-session.ts';
import type { AppEnv } from '../../coordinator/env.ts';
import { startWebLogin } from '../../coordinator/login/web.ts';
import { html, type Html } from '../html.ts';
import { barePage } from '../views/layout.ts';

/** The sign-in page (GitHub, as `crabbox login`), reachable without a session. */

/**
 * The session cookie is Secure, which browsers honour over https and on this machine (localhost, 127.0.0.1, ::1);
 * a coordinator reached over plain http anywhere else cannot hold a session, so it says so instead of looping.
 */
function cookieReachable(publicUrl: string | undefined): boolean {
  if (!publicUrl) return false;
  const url = new URL(publicUrl);
  return url.protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}

function problem(c: Context<AppEnv>): Html | undefined {
  const { login } = c.var.deps.config;
  if (!login.github) return html`This coordinator has no GitHub login configured, so nobody can sign in to its dashboard. Its operator sets <code>github.clientId</code>, <code>github.orgs</code> and <code>CRABBOX_GITHUB_CLIENT_SECRET</code> (see the coordinator docs).`;
  if (!cookieReachable(login.publicUrl)) return html`The dashboard needs https: its public URL (${login.publicUrl ?? 'not set'}) is plain http on another machine, where a browser will not keep a secure session cookie.`;
  return undefined;
}

export async function loginPage(c: Context<AppEnv>): Promise<Response> {
  if ((await readWebSession(c)).ok) return c.redirect('/', 303);
  const blocked = problem(c);
  const signedOut = c.req.query('signed_out') === '1';
  return c.html(barePage(c, {
    title: 'Sign in',
    body: html`<h1>Sign in to crabbox</h1>
${signedOut ? html`<p class="notice ok" role="status" id="notice">You are signed out.</p>` : ''}
<div class="card">
${blocked ? html`<p id="login-problem">${blocked}</p>` : html`<p>See your boxes, runs and usage. You sign in with GitHub, as with <code>crabbox login</code>; members of this coordinator's organizations get in.</p>
<form method="post" action="/login"><button type="submit" class="btn btn-primary" id="sign-in">Sign in with GitHub</button></form>`}
</div>`,
  }), blocked ? 503 : 200);
}

export async function loginAction(c: Context<AppEnv>): Promise<Response> {
  const blocked = problem(c);
  if (blocked) return c.html(barePage(c, { title: 'Sign in', body: html`<h1>Sign in to crabbox</h1><p class="card" id="login-problem">${blocked}</p>` }), 503);
  return startWebLogin(c);
}
