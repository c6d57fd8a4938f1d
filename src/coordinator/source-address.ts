import type { Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { AppEnv } from './env.ts';

/**
 * The request's peer address on the Node server (hono conninfo), undefined elsewhere. Behind a reverse proxy this
 * is the proxy's address, which is why the CLI sends its own detected address first.
 */
export function sourceAddress(c: Context<AppEnv>): string | undefined {
  try {
    return getConnInfo(c).remote.address || undefined;
  } catch {
    return undefined;
  }
}
