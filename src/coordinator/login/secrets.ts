import { newToken } from '../../domain/ids.ts';
import { USER_TOKEN_PREFIX, signUserToken } from '../../auth/user-token.ts';

/** Ids, codes and the user-token mint used by the login flow (its hashes: src/auth/digest.ts). */

export const newLoginId = (): string => `login_${newToken(12)}`;

const CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';

/** The one-time code the browser hands to the CLI: 8 letters (20^8), shown as XXXX-XXXX, good for one attempt. */
export function newLoginCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  const letters = Array.from(bytes, (b) => CODE_ALPHABET[b % CODE_ALPHABET.length]).join('');
  return `${letters.slice(0, 4)}-${letters.slice(4)}`;
}

/** Codes compare without case, dashes or spaces. */
export const normalizeLoginCode = (code: string): string => code.toUpperCase().replace(/[^A-Z]/g, '');
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
