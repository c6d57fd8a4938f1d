import { ManualClock } from '../domain/clock.ts';
import { FakeProvider } from '../providers/fake/fake-provider.ts';
import { signUserToken } from '../auth/user-token.ts';
import { openSqliteStore } from '../storage/sqlite.ts';
import type { FleetStore } from '../storage/store.ts';
import { createApp } from './app.ts';
import { coordinatorConfig, type CoordinatorConfig } from './config.ts';
import type { CoordinatorDeps } from './deps.ts';
import { nodePeerAddress } from './entry/node-peer.ts';

/** Test fixtures for the coordinator: real SQLite, real (in-process) host keys, a fake provider, a manual clock, and tokens for every role. */

export const SHARED_TOKEN = 'shared-token-0123456789abcdef';
export const SESSION_SECRET = 'session-secret-0123456789abcdef-0123456789';
export const PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0c3RrZXlzdHVmZmZvcnRlc3RzMDEyMzQ1Njc4 crabbox-lease';

export interface Harness {
  deps: CoordinatorDeps;
  app: ReturnType<typeof createApp>;
  clock: ManualClock;
  provider: FakeProvider;
  store: FleetStore;
  request(method: string, path: string, options?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; json: any; headers: Headers }>;
  userToken(login: string, options?: { owner?: string; org?: string; expiresInSeconds?: number }): Promise<string>;
  close(): Promise<void>;
}

export async function harness(options: { config?: Parameters<typeof coordinatorConfig>[0]; store?: FleetStore; path?: string; provider?: FakeProvider; clock?: ManualClock } = {}): Promise<Harness> {
  const clock = options.clock ?? new ManualClock(Date.UTC(2026, 0, 15, 12));
  const store = options.store ?? (await openSqliteStore({ path: options.path ?? ':memory:', now: clock.now() }));
  const provider = options.provider ?? new FakeProvider({ hourlyPrice: 0.5 });
  const config: CoordinatorConfig = coordinatorConfig({
    installation: 'test-install', defaultProvider: 'fake', ...options.config,
    auth: { sharedToken: SHARED_TOKEN, sessionSecret: SESSION_SECRET, admins: ['root'], maintainers: ['keeper'], ...options.config?.auth },
  });
  const deps: CoordinatorDeps = { store, providers: { fake: provider }, clock, config, peerAddress: nodePeerAddress };
  const app = createApp(deps);
  return {
    deps, app, clock, provider, store,
    async request(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      let body: string | undefined;
      if (o.body !== undefined) {
        headers['content-type'] ??= 'application/json';
        body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
      }
      const res = await app.request(path, { method, headers, body });
      const text = await res.text();
      let json: any;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = { raw: text };
      }
      return { status: res.status, json, headers: res.headers };
    },
    async userToken(login, t = {}) {
      const iat = Math.floor(clock.now() / 1000);
      return signUserToken({ owner: t.owner ?? `${login}@example.com`, org: t.org ?? 'acme', login, iat, exp: iat + (t.expiresInSeconds ?? 3600), jti: `jti-${login}-${iat}` }, SESSION_SECRET);
    },
    close: () => store.close(),
  };
}
