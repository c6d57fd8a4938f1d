import { after } from 'node:test';
import { ManualClock } from '../domain/clock.ts';
import { FakeProvider } from '../providers/fake/fake-provider.ts';
import type { Machine, Provider } from '../providers/provider.ts';
import { signUserToken } from '../auth/user-token.ts';
import { openSqliteStore } from '../storage/sqlite.ts';
import type { FleetStore } from '../storage/store.ts';
import { stopWorkerd, workerFetch } from '../testing/workerd.ts';
import { createApp } from './app.ts';
import { coordinatorConfig, type CoordinatorConfig } from './config.ts';
import type { CoordinatorDeps } from './deps.ts';
import { nodePeerAddress } from './entry/node-peer.ts';
import { startSweepScheduler } from './scheduler.ts';
import { sweep, type SweepOptions, type SweepStats } from './sweeper.ts';

/**
 * Test fixtures for the coordinator: real SQLite, real (in-process) host keys, a fake provider, a manual clock, and
 * tokens for every role. Two targets serve the same tests: `node`, the app in this process, and `worker`, the Worker in
 * workerd (Miniflare) over Durable Object SQLite. A suite runs on the Worker when its file is imported after
 * `useTarget('worker')` (src/coordinator/worker-target/).
 */

export const SHARED_TOKEN = 'shared-token-0123456789abcdef';
export const SESSION_SECRET = 'session-secret-0123456789abcdef-0123456789';
export const PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0c3RrZXlzdHVmZmZvcnRlc3RzMDEyMzQ1Njc4 crabbox-lease';

export type Target = 'node' | 'worker';
let currentTarget: Target = 'node';

/** Runs the suites imported after this against `target`. */
export function useTarget(target: Target): void {
  currentTarget = target;
}

/** ` [worker]` on the Worker target, so the two runs of a suite are told apart. */
export const onTarget = (title: string): string => (currentTarget === 'node' ? title : `${title} [${currentTarget}]`);

// One workerd per test process, ended with the process's tests (a no-op when no test used the Worker target).
after(stopWorkerd);

export interface Harness {
  target: Target;
  config: CoordinatorConfig;
  clock: ManualClock;
  /** The store: in this process, or the Worker's through its test control surface (no transactions there). */
  store: FleetStore;
  request(method: string, path: string, options?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; json: any; headers: Headers }>;
  /** A raw request to the coordinator; `source` is the client address it comes from (the TCP peer / CF-Connecting-IP). */
  fetch(url: string, init?: RequestInit, options?: { source?: string }): Promise<Response>;
  userToken(login: string, options?: { owner?: string; org?: string; expiresInSeconds?: number }): Promise<string>;
  /** The fake provider's machines, as it holds them now. */
  machines(): Promise<Machine[]>;
  /** How many deletes of `providerId` the fake saw. */
  deletions(providerId: string): Promise<number>;
  /** The fake's next `times` calls of `step` fail. */
  failNext(step: 'create' | 'delete' | 'list' | 'get', times?: number): Promise<void>;
  sweep(options?: SweepOptions): Promise<SweepStats>;
  /** The scheduled sweeps: the Node timer, or the Durable Object alarm (runNow fires it). */
  scheduler(): { runNow(): Promise<SweepStats | undefined>; stop(): Promise<void> };
  close(): Promise<void>;
  /** close(), so a test can write `await using h = await harness()` and have it closed however the test ends. */
  [Symbol.asyncDispose](): Promise<void>;
  // In-process only (the node target); on the Worker they throw.
  deps: CoordinatorDeps;
  app: ReturnType<typeof createApp>;
  provider: FakeProvider;
}

export interface HarnessOptions {
  config?: Parameters<typeof coordinatorConfig>[0];
  store?: FleetStore;
  path?: string;
  provider?: FakeProvider;
  /** More providers beside the fake one (a real local provider for browser tests). */
  providers?: Record<string, Provider>;
  clock?: ManualClock;
  target?: Target;
}

export async function harness(options: HarnessOptions = {}): Promise<Harness> {
  const clock = options.clock ?? new ManualClock(Date.UTC(2026, 0, 15, 12));
  const config: CoordinatorConfig = coordinatorConfig({
    installation: 'test-install', defaultProvider: 'fake', ...options.config,
    auth: { sharedToken: SHARED_TOKEN, sessionSecret: SESSION_SECRET, admins: ['root'], maintainers: ['keeper'], ...options.config?.auth },
  });
  const userToken: Harness['userToken'] = async (login, t = {}) => {
    const iat = Math.floor(clock.now() / 1000);
    return signUserToken({ owner: t.owner ?? `${login}@example.com`, org: t.org ?? 'acme', login, iat, exp: iat + (t.expiresInSeconds ?? 3600), jti: `jti-${login}-${iat}` }, SESSION_SECRET);
  };
  const target = options.target ?? currentTarget;
  if (target === 'worker') {
    if (options.store || options.path || options.provider || options.providers) throw new Error('the worker target makes its own store and providers');
    return workerHarness(config, clock, userToken);
  }
  const store = options.store ?? (await openSqliteStore({ path: options.path ?? ':memory:', now: clock.now() }));
  const provider = options.provider ?? new FakeProvider({ hourlyPrice: 0.5 });
  const deps: CoordinatorDeps = { store, providers: { fake: provider, ...options.providers }, clock, config, peerAddress: nodePeerAddress };
  const app = createApp(deps);
  const fetch: Harness['fetch'] = async (url, init = {}, o = {}) => app.request(url, init, o.source ? { incoming: { socket: { remoteAddress: o.source } } } : undefined);
  return {
    target, deps, app, clock, provider, store, config, fetch, userToken,
    request: (method, path, o) => jsonRequest(fetch, method, path, o),
    machines: async () => [...provider.machines.values()],
    deletions: async (id) => provider.deletions(id),
    failNext: async (step, times = 1) => void provider.fail({ step, times }),
    sweep: (o) => sweep(deps, o),
    scheduler: () => startSweepScheduler(deps),
    close: () => store.close(),
    [Symbol.asyncDispose]: () => store.close(),
  };
}

async function jsonRequest(fetch: Harness['fetch'], method: string, path: string, o: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...o.headers };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  let body: string | undefined;
  if (o.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
  }
  const res = await fetch(path, { method, headers, body });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = { raw: text };
  }
  return { status: res.status, json, headers: res.headers };
}

let fleets = 0;

/** The same harness over the Worker in workerd: each one its own Durable Object, its clock shipped with every request. */
async function workerHarness(config: CoordinatorConfig, clock: ManualClock, userToken: Harness['userToken']): Promise<Harness> {
  const fleet = `fleet-${process.pid}-${++fleets}-${Math.random().toString(36).slice(2)}`;
  const fetch: Harness['fetch'] = async (url, init = {}, o = {}) => {
    const headers = new Headers(init.headers);
    headers.set('x-crabbox-test-fleet', fleet);
    headers.set('x-crabbox-test-now', String(clock.now()));
    if (o.source) headers.set('cf-connecting-ip', o.source);
    const absolute = url.startsWith('/') ? `http://localhost${url}` : url;
    return workerFetch(absolute, { ...init, headers: Object.fromEntries(headers) });
  };
  const control = async (path: string, body: unknown = {}): Promise<any> => {
    const res = await fetch(`/__test/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const json = (await res.json()) as any;
    if (res.status !== 200) throw new Error(`${json?.error ?? res.status}: ${json?.message ?? ''}`);
    return json;
  };
  await control('init', { config, now: clock.now() });
  const store = new Proxy({} as FleetStore, {
    get: (_target, method: string) =>
      method === 'then'
        ? undefined
        : async (...args: unknown[]) => {
            if (method === 'withTransaction') throw new Error('transactions are not available through the Worker harness');
            const answer = await control('store', { method, args });
            if (!answer.ok) throw new Error(answer.error);
            return answer.value ?? undefined;
          },
  });
  const inProcessOnly = (what: string) => () => {
    throw new Error(`${what} is in-process only; the worker target offers the harness methods instead`);
  };
  const h = {
    target: 'worker' as const, clock, config, store, fetch, userToken,
    request: (method: string, path: string, o?: Parameters<Harness['request']>[2]) => jsonRequest(fetch, method, path, o),
    machines: (): Promise<Machine[]> => control('machines'),
    deletions: (providerId: string): Promise<number> => control('deletions', { providerId }),
    failNext: async (step: string, times = 1) => void (await control('fail', { step, times })),
    sweep: (o: SweepOptions = {}): Promise<SweepStats> => control('sweep', o),
    scheduler: () => ({ runNow: async () => ((await control('alarm', { force: true })).stats ?? undefined) as SweepStats | undefined, stop: async () => {} }),
    close: async () => {},
    [Symbol.asyncDispose]: async () => {},
  };
  // Not enumerable, so spreading the harness (login/testkit.ts) does not trip them.
  for (const what of ['deps', 'app', 'provider']) Object.defineProperty(h, what, { enumerable: false, get: inProcessOnly(what) });
  return h as unknown as Harness;
}
