import type { MiddlewareHandler } from 'hono';
import { CrabboxError } from '../../domain/errors.ts';
import type { AppEnv } from '../env.ts';
import { denied } from './auth.ts';

const MESSAGES: Record<string, string> = {
  'access-missing': 'this coordinator sits behind Cloudflare Access and the request carries no Access assertion',
  'access-expired': 'the Cloudflare Access assertion has expired; sign in to Access again',
  'access-wrong-audience': 'the Cloudflare Access assertion is for another application',
  'access-unknown-key': 'the Cloudflare Access assertion is signed by an unknown key',
  'access-invalid': 'the Cloudflare Access assertion is not valid',
};

/**
 * When Access is configured, every request it guards needs a valid Cf-Access-Jwt-Assertion; the verified Access
 * identity lands in c.var.accessIdentity. It is a gate, not a credential: who acts is still decided by the bearer token.
 */
export function accessGate(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { config, clock } = c.var.deps;
    const verify = config.access ? c.var.state.access() : undefined;
    if (!verify) return next();
    const result = await verify(c.req.header('cf-access-jwt-assertion'), clock.now());
    if (!result.ok) {
      await denied(c, result.reason);
      throw new CrabboxError('unauthorized', MESSAGES[result.reason] ?? 'Cloudflare Access denied the request');
    }
    c.set('accessIdentity', result.identity);
    await next();
  };
}
