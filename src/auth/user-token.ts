/**
 * Signed user tokens: `cbxu_<payload>.<signature>`, both base64url. The payload is compact JSON
 * {v, owner, org, login, iat, exp, jti}; the signature is HMAC-SHA256 over `cbxu_<payload>` with the
 * coordinator's session secret (never the shared operator token). Plain JavaScript (./digest.ts), so it runs on Node and
 * Workers alike, without a thread-pool round trip per request.
 */

import { hmacSha256, sameBytes } from './digest.ts';

export const USER_TOKEN_PREFIX = 'cbxu_';
const MAX_TOKEN_LENGTH = 2048;
/** No user token lives longer than this (`exp - iat`), whatever it claims: the configurable lifetime's ceiling. */
export const USER_TOKEN_MAX_LIFETIME_SECONDS = 366 * 86_400;
/** How far in the future `iat` may lie (clock skew between replicas); beyond it the lifetime cap would mean nothing. */
const IAT_SKEW_SECONDS = 300;

export interface UserTokenClaims {
  owner: string;
  org: string;
  login: string;
  /** Issued at / expires at, epoch seconds. */
  iat: number;
  exp: number;
  /** Unique token id (for revocation lists later). */
  jti: string;
}

export type VerifyResult = { ok: true; claims: UserTokenClaims } | { ok: false; reason: 'malformed' | 'bad-signature' | 'expired' | 'bad-lifetime' };

const encoder = new TextEncoder();

function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Decodes unpadded base64url, canonical only: the unused low bits of the last character must be zero, so each byte
 * string has exactly one accepted spelling (a token cannot be varied into "another" token with the same signature).
 */
function fromBase64Url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  let bytes: Uint8Array;
  try {
    const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
    bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
  return toBase64Url(bytes) === text ? bytes : undefined;
}

/** Whether `iat`/`exp` describe a lifetime this coordinator could have issued, judged at `nowSeconds`. */
function lifetimeOk(iat: number, exp: number, nowSeconds: number): boolean {
  return exp > iat && exp - iat <= USER_TOKEN_MAX_LIFETIME_SECONDS && iat <= nowSeconds + IAT_SKEW_SECONDS;
}

/** Session secrets must be long enough to resist guessing. */
export function assertSessionSecret(secret: string): void {
  if (secret.length < 32) throw new Error('the session secret must be at least 32 characters');
}

/** Signs claims into a user token. */
export async function signUserToken(claims: UserTokenClaims, secret: string): Promise<string> {
  assertSessionSecret(secret);
  if (!(claims.exp > claims.iat && claims.exp - claims.iat <= USER_TOKEN_MAX_LIFETIME_SECONDS)) throw new Error(`a user token lives at most ${USER_TOKEN_MAX_LIFETIME_SECONDS / 86_400} days and must end after it starts`);
  const payload = toBase64Url(encoder.encode(JSON.stringify({ v: 1, ...claims })));
  const signed = `${USER_TOKEN_PREFIX}${payload}`;
  const signature = hmacSha256(secret, signed);
  return `${signed}.${toBase64Url(signature)}`;
}

const isText = (v: unknown, max: number): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;
const isSeconds = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** Verifies a user token's shape, signature (compared in constant time) and expiry at `nowMs`. */
export async function verifyUserToken(token: string, secret: string, nowMs: number): Promise<VerifyResult> {
  if (token.length > MAX_TOKEN_LENGTH || !token.startsWith(USER_TOKEN_PREFIX)) return { ok: false, reason: 'malformed' };
  const dot = token.lastIndexOf('.');
  if (dot <= USER_TOKEN_PREFIX.length) return { ok: false, reason: 'malformed' };
  const signed = token.slice(0, dot);
  const signature = fromBase64Url(token.slice(dot + 1));
  const payloadBytes = fromBase64Url(signed.slice(USER_TOKEN_PREFIX.length));
  if (!signature || signature.length !== 32 || !payloadBytes) return { ok: false, reason: 'malformed' };
  if (!sameBytes(hmacSha256(secret, signed), signature)) return { ok: false, reason: 'bad-signature' };
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(new TextDecoder().decode(payloadBytes)) as Record<string, unknown>;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (claims.v !== 1 || !isText(claims.owner, 200) || !isText(claims.org, 200) || !isText(claims.login, 100) || !isText(claims.jti, 100)) return { ok: false, reason: 'malformed' };
  if (!isSeconds(claims.iat) || !isSeconds(claims.exp)) return { ok: false, reason: 'malformed' };
  if (!lifetimeOk(claims.iat, claims.exp, Math.floor(nowMs / 1000))) return { ok: false, reason: 'bad-lifetime' };
  if (nowMs >= claims.exp * 1000) return { ok: false, reason: 'expired' };
  return { ok: true, claims: { owner: claims.owner, org: claims.org, login: claims.login, iat: claims.iat, exp: claims.exp, jti: claims.jti } };
}
