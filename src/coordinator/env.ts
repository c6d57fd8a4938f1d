import type { LeaseRecord } from '../storage/store.ts';
import type { AppState } from './app-state.ts';
import type { Identity } from './auth/identity.ts';
import type { WebSession } from './auth/web-session.ts';
import type { CoordinatorDeps } from './deps.ts';

/** The Hono environment: identity and the loaded lease travel through typed c.var, never through headers. */
export interface AppEnv {
  Variables: {
    deps: CoordinatorDeps;
    /** Caches and rate windows of this app instance (app-state.ts). */
    state: AppState;
    identity: Identity;
    lease: LeaseRecord;
    /** The verified Cloudflare Access identity (email or service:<name>) when Access is configured. */
    accessIdentity: string | undefined;
    /** The dashboard's browser session (dashboard pages only). */
    webSession: WebSession;
    /** This response's CSP script nonce (dashboard pages only). */
    nonce: string;
  };
}
