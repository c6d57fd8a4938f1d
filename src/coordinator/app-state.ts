import type { SecretDigests } from './auth/identity.ts';
import type { CoordinatorConfig } from './config.ts';
import { accessVerifier, type AccessVerifier } from './login/access.ts';

/**
 * What one app instance remembers between requests: caches and rate windows. It lives with the app (made by
 * createApp), never at module level, so two apps in one process or isolate (tests, a Worker's isolate) share nothing.
 */
export interface AppState {
  /** The auth.denied budget's current minute (middleware/auth.ts). */
  denials: { start: number; count: number; suppressed: number } | undefined;
  /** Digests of the configured secrets (auth/identity.ts). */
  secretDigests: SecretDigests;
  /** The Access verifier with its JWKS cache, made on first use when Access is configured. */
  access(): AccessVerifier | undefined;
}

export function newAppState(config: CoordinatorConfig): AppState {
  let verifier: AccessVerifier | undefined;
  return {
    denials: undefined,
    secretDigests: new Map(),
    access: () => (config.access ? (verifier ??= accessVerifier(config.access)) : undefined),
  };
}
