import { sameBytes, sha256 } from '../../auth/digest.ts';
import { verifyUserToken, USER_TOKEN_PREFIX } from '../../auth/user-token.ts';
import type { CoordinatorConfig } from '../config.ts';

/** Who is calling, decided from the credential alone. */
export type Role = 'user' | 'maintainer' | 'admin';

export interface Identity {
  owner: string;
  org: string;
  login?: string | undefined;
  role: Role;
  /** `browser-session`: the dashboard's cookie session (auth/web-session.ts); the API never accepts one. */
  via: 'shared-token' | 'user-token' | 'browser-session';
  /** When a user token stops working (epoch ms). */
  expiresAt?: number | undefined;
}

export type Resolution =
  | { ok: true; identity: Identity }
  | { ok: false; reason: 'no-auth-configured' | 'missing' | 'malformed' | 'wrong-token' | 'bad-signature' | 'expired' | 'bad-lifetime' | 'missing-owner' | 'reserved-owner' };

const RANK: Record<Role, number> = { user: 0, maintainer: 1, admin: 2 };

export function hasRole(identity: Identity, needed: Role): boolean {
  return RANK[identity.role] >= RANK[needed];
}

/** Digests of configured secrets (the shared token), made once per app: every request then hashes only what it presented. */
export type SecretDigests = Map<string, Uint8Array>;

/**
 * Constant-time equality: compares SHA-256 digests, so neither length nor content leaks through timing. When `digests`
 * is given, `b` is a configured secret: its digest is computed once and kept there (the secret is in memory anyway).
 */
export function constantTimeEqual(a: string, b: string, digests?: SecretDigests): boolean {
  let secret = digests?.get(b);
  if (!secret) {
    secret = sha256(b);
    if (digests && digests.size < 16) digests.set(b, secret);
  }
  return sameBytes(sha256(a), secret);
}

const HEADER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,199}$/;

/** `github-<numeric id>`: the owner of every GitHub login, reserved for them (ids never change or get reused). */
export const GITHUB_OWNER = /^github-\d{1,20}$/i;

/**
 * Maps a user token to a role through the config's explicit allowlists. A GitHub login's token matches by its owner
 * `github-<id>` only: its login can be renamed and then claimed by someone else, so an allowlisted login grants it
 * nothing. An operator-issued token (`coordinator issue-token`) matches by its login or owner, both chosen by whoever
 * holds the session secret. Nothing in the token itself can make it admin.
 */
export function roleFor(login: string, owner: string, config: Pick<CoordinatorConfig, 'auth'>): Role {
  const names = new Set(GITHUB_OWNER.test(owner) ? [owner.toLowerCase()] : [login.toLowerCase(), owner.toLowerCase()]);
  if (config.auth.admins.some((a) => names.has(a.toLowerCase()))) return 'admin';
  if (config.auth.maintainers.some((m) => names.has(m.toLowerCase()))) return 'maintainer';
  return 'user';
}

/**
 * Allowlist entries that no GitHub login can match (anything but `github-<id>`), for a warning when GitHub login
 * is on: they still match operator-issued tokens, which is rarely what the operator meant by a GitHub name.
 */
export function loginOnlyEntries(config: Pick<CoordinatorConfig, 'auth'>): string[] {
  return [...config.auth.admins, ...config.auth.maintainers].filter((entry) => !GITHUB_OWNER.test(entry));
}

export interface CredentialInput {
  authorization: string | undefined;
  ownerHeader: string | undefined;
  orgHeader: string | undefined;
  now: number;
}

/**
 * Resolves a request's credential to an identity. Fails closed: with neither secret configured nothing resolves.
 * Owner/org headers are honored only with the shared operator token; a user token carries its own, signed.
 */
export async function resolveIdentity(input: CredentialInput, config: CoordinatorConfig, digests?: SecretDigests): Promise<Resolution> {
  const { sharedToken, sessionSecret } = config.auth;
  if (!sharedToken && !sessionSecret) return { ok: false, reason: 'no-auth-configured' };
  if (!input.authorization) return { ok: false, reason: 'missing' };
  const match = /^Bearer ([\x21-\x7e]{1,4096})$/.exec(input.authorization);
  if (!match) return { ok: false, reason: 'malformed' };
  const token = match[1]!;
  if (token.startsWith(USER_TOKEN_PREFIX)) {
    if (!sessionSecret) return { ok: false, reason: 'wrong-token' };
    const verified = await verifyUserToken(token, sessionSecret, input.now);
    if (!verified.ok) return { ok: false, reason: verified.reason };
    const { owner, org, login, exp } = verified.claims;
    return { ok: true, identity: { owner, org, login, role: roleFor(login, owner, config), via: 'user-token', expiresAt: exp * 1000 } };
  }
  if (!sharedToken || !constantTimeEqual(token, sharedToken, digests)) return { ok: false, reason: 'wrong-token' };
  const owner = input.ownerHeader?.trim();
  const org = input.orgHeader?.trim() || owner;
  if (!owner || !HEADER_NAME.test(owner) || !org || !HEADER_NAME.test(org)) return { ok: false, reason: 'missing-owner' };
  // The shared token names its owner freely, so it must never name a real person's GitHub identity.
  if (GITHUB_OWNER.test(owner)) return { ok: false, reason: 'reserved-owner' };
  return { ok: true, identity: { owner, org, role: config.auth.sharedTokenRole, via: 'shared-token' } };
}
