import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { newToken } from '../../domain/ids.ts';
import type { LoginRecord } from '../../storage/store.ts';
import { constantTimeEqual } from '../auth/identity.ts';
import type { AppEnv } from '../env.ts';
import { sha256Hex } from '../../auth/digest.ts';

/**
 * The two cookies of the login confirmation, one pair per login (a browser may run two logins at once):
 * - `cbx_csrf_<id>`: set by the confirmation page, SameSite=Strict, echoed in the form. A POST forged from another
 *   site carries no such cookie (and its page cannot read it), so it cannot confirm a login in a victim's browser.
 * - `cbx_login_<id>`: set by the confirmation, SameSite=Lax (it must ride along on GitHub's redirect back, a
 *   top-level GET), its SHA-256 kept with the login. The callback is accepted only from the browser holding it.
 * Both are HttpOnly, scoped to /v1/login, live as long as the login (10 minutes), and Secure on an https coordinator.
 */
const LIFETIME_SECONDS = 600;
const csrfName = (loginId: string) => `cbx_csrf_${loginId.replace(/^login_/, '')}`;
const browserName = (loginId: string) => `cbx_login_${loginId.replace(/^login_/, '')}`;

export const newCsrfToken = (): string => newToken(24);

function options(c: Context<AppEnv>, sameSite: 'Strict' | 'Lax') {
  const secure = (c.var.deps.config.login.publicUrl ?? '').startsWith('https:');
  return { path: '/v1/login', httpOnly: true, sameSite, maxAge: LIFETIME_SECONDS, secure };
}

export function setCsrfCookie(c: Context<AppEnv>, loginId: string, token: string): void {
  setCookie(c, csrfName(loginId), token, options(c, 'Strict'));
}

export function setBrowserCookie(c: Context<AppEnv>, loginId: string, binding: string): void {
  setCookie(c, browserName(loginId), binding, options(c, 'Lax'));
  setCookie(c, csrfName(loginId), '', { ...options(c, 'Strict'), maxAge: 0 });
}

/** Forgets the browser binding once its login is finished (the dashboard's sign-in). */
export function clearBrowserCookie(c: Context<AppEnv>, loginId: string): void {
  setCookie(c, browserName(loginId), '', { ...options(c, 'Lax'), maxAge: 0 });
}

/**
 * A confirmation POST is genuine when its token matches this browser's page cookie and the browser does not say the
 * request came from another site (Sec-Fetch-Site, sent by current browsers; absent from scripts, which hold no cookie).
 */
export async function csrfOk(c: Context<AppEnv>, loginId: string, token: string): Promise<boolean> {
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin') return false;
  const cookie = getCookie(c, csrfName(loginId));
  if (!cookie || !/^[0-9a-f]{48}$/.test(token)) return false;
  return constantTimeEqual(cookie, token);
}

/** Whether this request comes from the browser that confirmed the login. */
export async function confirmedHere(c: Context<AppEnv>, login: LoginRecord): Promise<boolean> {
  if (login.confirmedAt === undefined || !login.browserHash) return false;
  const cookie = getCookie(c, browserName(login.id));
  if (!cookie) return false;
  return constantTimeEqual(sha256Hex(cookie), login.browserHash);
}

/** "at 2026-01-15 12:00:05 UTC (2 minutes ago)". */
export function startedText(createdAt: number, now: number): string {
  const at = new Date(createdAt).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
  const seconds = Math.max(0, Math.round((now - createdAt) / 1000));
  const ago = seconds < 60 ? 'just now' : `${Math.round(seconds / 60)} minute${Math.round(seconds / 60) === 1 ? '' : 's'} ago`;
  return `at ${at} (${ago})`;
}
