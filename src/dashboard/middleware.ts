import type { Context, MiddlewareHandler } from 'hono';
import { csrf } from 'hono/csrf';
import { CrabboxError } from '../domain/errors.ts';
import { constantTimeEqual } from '../coordinator/auth/identity.ts';
import { clearSessionCookie, readWebSession } from '../coordinator/auth/web-session.ts';
import type { AppEnv } from '../coordinator/env.ts';
import { denied } from '../coordinator/middleware/auth.ts';

/** The dashboard's request pipeline pieces: security headers, the two CSRF layers, the session. */

function nonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes));
}

/** Where a sign-in form may send the browser: this origin, and GitHub's authorize page (the 303 after the POST). */
function formTargets(c: Context<AppEnv>): string {
  const gh = c.var.deps.config.login.github;
  return gh ? `'self' ${new URL(gh.webUrl).origin}` : `'self'`;
}

/**
 * Every dashboard response: a strict CSP as a header (a meta tag cannot carry frame-ancestors) with a fresh script
 * nonce, no inline script or style, HTML written only through the one Trusted Types policy; no referrer beyond this
 * origin; no framing; no sniffing. HSTS when the coordinator is served over https.
 */
export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const n = nonce();
    c.set('nonce', n);
    await next();
    const csp = [
      "default-src 'none'", `script-src 'nonce-${n}' 'strict-dynamic'`, "style-src 'self'", "img-src 'self'", "connect-src 'self'",
      `form-action ${formTargets(c)}`, "frame-ancestors 'none'", "base-uri 'none'", "require-trusted-types-for 'script'", 'trusted-types crabbox-fragment',
    ].join('; ');
    const headers = c.res.headers;
    headers.set('Content-Security-Policy', csp);
    headers.set('Referrer-Policy', 'same-origin');
    headers.set('X-Content-Type-Options', 'nosniff');
    headers.set('X-Frame-Options', 'DENY');
    headers.set('Cross-Origin-Opener-Policy', 'same-origin');
    headers.set('Cross-Origin-Resource-Policy', 'same-origin');
    headers.set('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=(), usb=()');
    if ((c.var.deps.config.login.publicUrl ?? '').startsWith('https:')) headers.set('Strict-Transport-Security', 'max-age=31536000');
    if (!headers.has('Cache-Control')) headers.set('Cache-Control', 'no-store');
  };
}

/**
 * CSRF layer one (Hono's csrf()): an unsafe form post must say, by Sec-Fetch-Site or Origin, that it comes from this
 * origin (the request's own, or the public URL's behind a proxy).
 */
export function sameOrigin(): MiddlewareHandler<AppEnv> {
  return csrf({
    origin: (origin, c) => {
      const publicUrl = (c as Context<AppEnv>).var.deps.config.login.publicUrl;
      return origin === new URL(c.req.url).origin || (publicUrl !== undefined && origin === new URL(publicUrl).origin);
    },
  });
}

/**
 * The signed-in person, from the session cookie only (a bearer token, the shared operator token included, means
 * nothing here). Without a valid session a page request goes to the sign-in page and a fragment request gets 401.
 */
export function signedIn(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const reading = await readWebSession(c);
    if (!reading.ok) {
      if (reading.reason !== 'no-session') {
        await denied(c, reading.reason);
        clearSessionCookie(c);
      }
      const page = (c.req.method === 'GET' || c.req.method === 'HEAD') && !c.req.path.startsWith('/live/');
      if (page) return c.redirect('/login', 303);
      throw new CrabboxError('unauthorized', reading.reason === 'session-expired' ? 'your session has ended; sign in again' : 'sign in first', { hint: 'open /login' });
    }
    c.set('webSession', reading.session);
    c.set('identity', reading.identity);
    await next();
  };
}

/** CSRF layer two: every unsafe request carries the session's token, as form field `csrf` or header X-Csrf-Token. */
export function sessionToken(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const header = c.req.header('x-csrf-token');
      const form = header === undefined ? await c.req.parseBody().catch(() => ({}) as Record<string, unknown>) : {};
      const token = header ?? (typeof form.csrf === 'string' ? form.csrf : '');
      if (!/^[0-9a-f]{64}$/.test(token) || !constantTimeEqual(token, c.var.webSession.csrfToken)) {
        await denied(c, 'csrf-token', c.var.identity);
        throw new CrabboxError('forbidden', 'this form did not come from your dashboard session (its anti-forgery token is missing or wrong)', { hint: 'reload the page and try again' });
      }
    }
    await next();
  };
}
