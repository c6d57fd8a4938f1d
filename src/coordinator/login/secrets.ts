import { newToken } from '../../domain/ids.ts';
import { USER_TOKEN_PREFIX, signUserToken } from '../../auth/user-token.ts';

/** Hashes, ids and the user-token mint used by the login flow. */

const encoder = new TextEncoder();

/** SHA-256 as lowercase hex. The CLI sends sha256(secret) at start and the secret itself when polling. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

export const newLoginId = (): string => `login_${newToken(12)}`;
export const newState = (): string => newToken(24);

/**
 * The owner of a GitHub login is `github-<numeric id>`: ids never change or get reused, logins can be renamed and
 * then claimed by someone else. The login travels beside it for display and the role allowlists.
 */
export const ownerForGitHubUser = (id: number): string => `github-${id}`;

/** Mints a user token for an approved login. */
export async function mintUserToken(input: { owner: string; org: string; login: string; now: number; ttlSeconds: number; secret: string }): Promise<{ token: string; expiresAt: number }> {
  const iat = Math.floor(input.now / 1000);
  const exp = iat + input.ttlSeconds;
  const token = await signUserToken({ owner: input.owner, org: input.org, login: input.login, iat, exp, jti: newToken(12) }, input.secret);
  if (!token.startsWith(USER_TOKEN_PREFIX)) throw new Error('user token without its prefix');
  return { token, expiresAt: exp * 1000 };
}
