import type { Context, MiddlewareHandler } from 'hono';
import { CrabboxError } from '../../domain/errors.ts';
import { audit } from '../audit.ts';
import { hasRole, resolveIdentity, type Identity, type Role } from '../auth/identity.ts';
import type { AppEnv } from '../env.ts';
import { scrub } from '../redaction.ts';

const MESSAGES: Record<string, string> = {
  'no-auth-configured': 'this coordinator has no auth configured, so it refuses every request',
  missing: 'a bearer token is required',
  malformed: 'the Authorization header is not a valid bearer token',
  'wrong-token': 'the token is not valid for this coordinator',
  'bad-signature': 'the token is not valid for this coordinator',
  expired: 'your login has expired',
  'bad-lifetime': 'the token is not valid for this coordinator (issued in the future or claiming a lifetime over 366 days)',
  'missing-owner': 'the shared token needs X-Crabbox-Owner (and optionally X-Crabbox-Org) naming who acts',
};

/** What the caller can do about each refusal; the default is for a missing or unknown token. */
const HINTS: Record<string, string> = {
  expired: 'run `crabbox login` again',
  'bad-signature': 'run `crabbox login` again',
  'bad-lifetime': 'run `crabbox login` again',
  'missing-owner': 'send X-Crabbox-Owner: <owner> with the shared token (the CLI sends owner from your config or CRABBOX_OWNER)',
  'no-auth-configured': 'the operator must set CRABBOX_SHARED_TOKEN or CRABBOX_SESSION_SECRET (see `crabbox coordinator init-secrets`)',
};

/** At most this many auth.denied events per minute per coordinator; the rest are counted, so a flood stays bounded. */
export const DENIALS_PER_MINUTE = 120;

/** Records a denial without the credential: who (if known), why, and which route. */
export async function denied(c: Context<AppEnv>, reason: string, identity?: Identity): Promise<void> {
  const { store, clock } = c.var.deps;
  const state = c.var.state;
  const now = clock.now();
  let window = state.denials;
  if (!window || now - window.start >= 60_000) {
    window = { start: now, count: 0, suppressed: window?.suppressed ?? 0 };
    state.denials = window;
  }
  if (window.count >= DENIALS_PER_MINUTE) {
    window.suppressed++;
    return;
  }
  window.count++;
  const suppressed = window.suppressed;
  window.suppressed = 0;
  await audit(store, {
    type: 'auth.denied', at: now, actor: identity?.owner ?? 'anonymous', owner: identity?.owner, org: identity?.org,
    data: { reason, method: c.req.method, path: scrub(c.var.deps.config, c.req.path.slice(0, 200)), ...(suppressed ? { suppressedBefore: suppressed } : {}) },
  });
}

/** Authenticates every request it guards; the identity lands in c.var.identity. Fails closed. */
export function authenticate(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { config, clock } = c.var.deps;
    const result = await resolveIdentity({ authorization: c.req.header('authorization'), ownerHeader: c.req.header('x-crabbox-owner'), orgHeader: c.req.header('x-crabbox-org'), now: clock.now() }, config, c.var.state.secretDigests);
    if (!result.ok) {
      await denied(c, result.reason);
      if (result.reason === 'reserved-owner') {
        throw new CrabboxError('forbidden', `X-Crabbox-Owner ${c.req.header('x-crabbox-owner')?.trim()} is reserved: github-<id> owners belong to GitHub logins, and the shared token cannot act as one`, { hint: 'pick another owner name (CRABBOX_OWNER or `owner` in your config), or sign in as yourself with `crabbox login`' });
      }
      throw new CrabboxError('unauthorized', MESSAGES[result.reason] ?? 'unauthorized', { hint: HINTS[result.reason] ?? 'configure a coordinator token (crabbox login, or CRABBOX_COORDINATOR_TOKEN)' });
    }
    c.set('identity', result.identity);
    await next();
  };
}

/** Lets only callers with at least `role` through; others get 403 and an auth.denied event. */
export function requireRole(role: Role): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const identity = c.var.identity;
    if (!hasRole(identity, role)) {
      await denied(c, `needs-${role}`, identity);
      throw new CrabboxError('forbidden', `this needs the ${role} role`);
    }
    await next();
  };
}
