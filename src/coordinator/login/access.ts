import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { AccessConfig } from '../config.ts';

/**
 * Cloudflare Access JWT verification (defense in depth). The `Cf-Access-Jwt-Assertion` header is checked against
 * the team's JWKS (fetched once and cached by jose, refetched on an unknown key id at most every 30 s), the issuer
 * https://<teamDomain> and the application audience. Raw identity headers such as Cf-Access-Authenticated-User-Email
 * are never read: the identity is the verified JWT's `email` (users) or `common_name` (service tokens).
 */

export type AccessResult =
  | { ok: true; identity: string }
  | { ok: false; reason: 'access-missing' | 'access-expired' | 'access-wrong-audience' | 'access-unknown-key' | 'access-invalid' };

export type AccessVerifier = (assertion: string | undefined, now: number) => Promise<AccessResult>;

/** A verifier bound to one Access config; its JWKS is cached for the life of the verifier (one per app, see app-state.ts). */
export function accessVerifier(config: AccessConfig): AccessVerifier {
  const getKey: JWTVerifyGetKey = createRemoteJWKSet(new URL(config.jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
  return async (assertion, now) => {
    if (!assertion) return { ok: false, reason: 'access-missing' };
    if (assertion.length > 8192) return { ok: false, reason: 'access-invalid' };
    try {
      const { payload } = await jwtVerify(assertion, getKey, {
        issuer: `https://${config.teamDomain}`,
        audience: config.audience,
        algorithms: ['RS256', 'ES256'],
        currentDate: new Date(now),
        clockTolerance: 30,
      });
      const identity = typeof payload.email === 'string' ? payload.email : typeof payload.common_name === 'string' ? `service:${payload.common_name}` : undefined;
      if (!identity) return { ok: false, reason: 'access-invalid' };
      return { ok: true, identity };
    } catch (error) {
      if (error instanceof errors.JWTExpired) return { ok: false, reason: 'access-expired' };
      if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'aud') return { ok: false, reason: 'access-wrong-audience' };
      if (error instanceof errors.JWKSNoMatchingKey) return { ok: false, reason: 'access-unknown-key' };
      return { ok: false, reason: 'access-invalid' };
    }
  };
}
