import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { newToken } from '../../domain/ids.ts';
import type { WebSessionRecord } from '../../storage/store.ts';
import type { AppEnv } from '../env.ts';
import { sha256Hex } from '../../auth/digest.ts';
import { sourceAddress } from '../source-address.ts';
import { constantTimeEqual, roleFor, type Identity } from './identity.ts';

/**
 * The dashboard's browser session (miniflux's web sessions, docs/security.md "The browser session"). The cookie
 * `__Host-crabbox_session` holds `id.secret`; the store keeps only SHA-256(secret), compared in constant time. It is
 * HttpOnly, SameSite=Lax, Secure and host-only with Path=/ (the `__Host-` rules; browsers accept Secure cookies from
 * http://localhost and 127.0.0.1, so the same cookie serves local use). A session lives an hour from its last use
 * and twelve hours at most, is made anew at every sign-in (the browser's previous one is deleted), and is bound to who
 * signed in: the owner, the role the config gave them then, and the Cloudflare Access identity of that request.
 * It is a browser credential only: the API ignores cookies, and the dashboard ignores bearer tokens.
 */
export const SESSION_COOKIE = '__Host-crabbox_session';
export const SESSION_IDLE_MS = 60 * 60_000;
export const SESSION_MAX_MS = 12 * 60 * 60_000;
/** Use moves the idle deadline at most once a minute, so reading pages does not write on every request. */
export const RENEW_AFTER_MS = 60_000;

const COOKIE_VALUE = /^([0-9a-f]{24})\.([0-9a-f]{64})$/;

export interface WebSession {
  record: WebSessionRecord;
  /** The session's anti-forgery token: in every form (field `csrf`) or the `X-Csrf-Token` header of a fetch. */
  csrfToken: string;
}

export type SessionReading =
  | { ok: true; session: WebSession; identity: Identity }
  | { ok: false; reason: 'no-session' | 'session-malformed' | 'session-unknown' | 'session-forged' | 'session-expired' | 'session-role-changed' | 'session-access-mismatch' };

/** Derived from the cookie's secret: per session, never stored, and knowing it does not reveal the secret. */
const csrfFor = (secret: string): string => sha256Hex(`crabbox-csrf:${secret}`);

function writeCookie(c: Context<AppEnv>, value: string, maxAgeMs: number): void {
  setCookie(c, SESSION_COOKIE, value, { path: '/', secure: true, httpOnly: true, sameSite: 'Lax', maxAge: Math.max(0, Math.floor(maxAgeMs / 1000)) });
}

export function clearSessionCookie(c: Context<AppEnv>): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: true, httpOnly: true, sameSite: 'Lax' });
}

/** A browser's user agent, shortened to something a person recognizes in the session list. */
export function shortUserAgent(ua: string | undefined): string | undefined {
  if (!ua) return undefined;
  const browser = /(Edg|Firefox|Chrome|Chromium|Safari)\/(\d+)/.exec(ua);
  const os = /(Windows|Mac OS X|Android|iPhone|iPad|Linux|CrOS)/.exec(ua)?.[1]?.replace('Mac OS X', 'macOS');
  const name = browser ? `${browser[1] === 'Edg' ? 'Edge' : browser[1]} ${browser[2]}` : ua.slice(0, 40);
  return (os ? `${name} on ${os}` : name).slice(0, 80);
}

/**
 * Signs a person in: a new session (fresh id and secret) for who GitHub said they are, the cookie set on this
 * response. The session the browser held before, if any, is deleted: a session id never survives a sign-in.
 */
export async function startWebSession(c: Context<AppEnv>, who: { owner: string; org: string; login: string }): Promise<WebSessionRecord> {
  const { store, clock, config } = c.var.deps;
  const previous = COOKIE_VALUE.exec(getCookie(c, SESSION_COOKIE) ?? '');
  if (previous) await store.deleteWebSession(previous[1]!);
  const now = clock.now();
  const id = newToken(12);
  const secret = newToken(32);
  const record: WebSessionRecord = {
    id, secretHash: sha256Hex(secret), owner: who.owner, org: who.org, login: who.login, role: roleFor(who.login, who.owner, config),
    accessIdentity: c.var.accessIdentity, address: sourceAddress(c), userAgent: shortUserAgent(c.req.header('user-agent')),
    createdAt: now, lastSeenAt: now, expiresAt: now + SESSION_IDLE_MS, absoluteExpiresAt: now + SESSION_MAX_MS,
  };
  await store.createWebSession(record, now);
  writeCookie(c, `${id}.${secret}`, SESSION_IDLE_MS);
  return record;
}

/**
 * The session this request's cookie names, if it is genuine and still valid; renews it (idle deadline and cookie) when
 * it was last renewed over a minute ago. A session past a deadline, whose owner's role has changed, or presented
 * under another Access identity is deleted.
 */
export async function readWebSession(c: Context<AppEnv>): Promise<SessionReading> {
  const { store, clock, config } = c.var.deps;
  const raw = getCookie(c, SESSION_COOKIE);
  if (raw === undefined || raw === '') return { ok: false, reason: 'no-session' };
  const match = COOKIE_VALUE.exec(raw);
  if (!match) return { ok: false, reason: 'session-malformed' };
  const [, id, secret] = match as unknown as [string, string, string];
  const record = await store.getWebSession(id);
  if (!record) return { ok: false, reason: 'session-unknown' };
  if (!constantTimeEqual(sha256Hex(secret), record.secretHash)) return { ok: false, reason: 'session-forged' };
  const now = clock.now();
  const end = async (reason: 'session-expired' | 'session-role-changed' | 'session-access-mismatch'): Promise<SessionReading> => {
    await store.deleteWebSession(id);
    return { ok: false, reason };
  };
  if (now >= record.expiresAt || now >= record.absoluteExpiresAt) return end('session-expired');
  if (roleFor(record.login, record.owner, config) !== record.role) return end('session-role-changed');
  if (config.access && c.var.accessIdentity !== record.accessIdentity) return end('session-access-mismatch');
  let current = record;
  if (now - record.lastSeenAt >= RENEW_AFTER_MS) {
    const expiresAt = Math.min(now + SESSION_IDLE_MS, record.absoluteExpiresAt);
    if (await store.touchWebSession(id, { lastSeenAt: now, expiresAt })) {
      current = { ...record, lastSeenAt: now, expiresAt };
      writeCookie(c, raw, expiresAt - now);
    }
  }
  const identity: Identity = { owner: current.owner, org: current.org, login: current.login, role: current.role, via: 'browser-session', expiresAt: current.expiresAt };
  return { ok: true, session: { record: current, csrfToken: csrfFor(secret) }, identity };
}

/** Signs out: the session row is deleted (the cookie no longer works anywhere) and the cookie cleared. */
export async function endWebSession(c: Context<AppEnv>, id: string): Promise<void> {
  await c.var.deps.store.deleteWebSession(id);
  clearSessionCookie(c);
}
