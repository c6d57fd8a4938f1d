import { verifyUserToken, USER_TOKEN_PREFIX } from '../../auth/user-token.ts';
import type { CoordinatorConfig } from '../config.ts';

/** Who is calling, decided from the credential alone. */
export type Role = 'user' | 'maintainer' | 'admin';

export interface Identity {
  owner: string;
  org: string;
  login?: string | undefined;
  role: Role;
  via: 'shared-token' | 'user-token';
  /** When a user token stops working (epoch ms). */
  expiresAt?: number | undefined;
}

export type Resolution = { ok: true; identity: Identity } | { ok: false; reason: 'no-auth-configured' | 'missing' | 'malformed' | 'wrong-token' | 'bad-signature' | 'expired' | 'missing-owner' };

const RANK: Record<Role, number> = { user: 0, maintainer: 1, admin: 2 };

export function hasRole(identity: Identity, needed: Role): boolean {
  return RANK[identity.role] >= RANK[needed];
}

const encoder = new TextEncoder();

const sha256 = async (text: string): Promise<Uint8Array> => new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
/** Digests of configured secrets (the shared token), made once: every request then hashes only what it presented. */
const secretDigests = new Map<string, Promise<Uint8Array>>();

/**
 * Constant-time equality: compares SHA-256 digests, so neither length nor content leaks through timing. `b` is a
 * configured secret when `bIsSecret` is set: its digest is computed once and kept (the secret is in memory anyway).
 */
export async function constantTimeEqual(a: string, b: string, bIsSecret = false): Promise<boolean> {
  let secret = bIsSecret ? secretDigests.get(b) : undefined;
  if (bIsSecret && !secret) {
    secret = sha256(b);
    if (secretDigests.size < 16) secretDigests.set(b, secret);
  }
  const [x, y] = await Promise.all([sha256(a), secret ?? sha256(b)]);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!;
  return diff === 0;
}

const HEADER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,199}$/;

/**
 * Maps a user token to a role through the config's explicit allowlists, by login or by owner (`github-<id>`,
 * which survives renames). Nothing in the token itself can make it admin.
 */
function roleFor(login: string, owner: string, config: CoordinatorConfig): Role {
  const names = new Set([login.toLowerCase(), owner.toLowerCase()]);
  if (config.auth.admins.some((a) => names.has(a.toLowerCase()))) return 'admin';
  if (config.auth.maintainers.some((m) => names.has(m.toLowerCase()))) return 'maintainer';
  return 'user';
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
export async function resolveIdentity(input: CredentialInput, config: CoordinatorConfig): Promise<Resolution> {
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
  if (!sharedToken || !(await constantTimeEqual(token, sharedToken, true))) return { ok: false, reason: 'wrong-token' };
  const owner = input.ownerHeader?.trim();
  const org = input.orgHeader?.trim() || owner;
  if (!owner || !HEADER_NAME.test(owner) || !org || !HEADER_NAME.test(org)) return { ok: false, reason: 'missing-owner' };
  return { ok: true, identity: { owner, org, role: config.auth.sharedTokenRole, via: 'shared-token' } };
}
