// The Worker the tests run in workerd (Miniflare): the production Fleet host, built per test from a config the test
// sends, with a manual clock whose time comes with every request (x-crabbox-test-now), the in-memory fake provider (and
// any cloud provider pointed at a fake over loopback), and a control surface under /__test/ for what the in-process
// tests read directly (the store, the fake's machines, a sweep, the alarm). Never deployed: only tests bundle it.
import { ManualClock, systemClock, type Clock } from '../../domain/clock.ts';
import { FakeProvider } from '../../providers/fake/fake-provider.ts';
import type { Provider } from '../../providers/provider.ts';
import { loadMigrations } from '../../storage/sql/migrations.ts';
import type { CoordinatorConfig } from '../config.ts';
import { sweep, type SweepOptions } from '../sweeper.ts';
import { FleetHost, startFailure, type AlarmClock, type DurableObjectStateLike } from './fleet-host.ts';
import { workerProviders } from './worker-providers.ts';
import { ContractHost } from './worker-testing-contract.ts';
import { BridgeProvider } from './worker-testing-bridge.ts';

export { ContractHost };

interface Namespace {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(request: Request): Promise<Response> };
}

/** Alarms are set a century ahead of store time, so workerd never fires one on its own; tests fire them (/__test/alarm). */
const CENTURY = 100 * 365 * 86_400_000;
const TEST_ALARMS: AlarmClock = { toPlatform: (at) => at + CENTURY, fromPlatform: (at) => at - CENTURY };

export interface TestInit {
  config: CoordinatorConfig;
  now: number;
  /** The fake's hourly price (the in-process harness uses 0.5). */
  fakeHourlyPrice?: number;
  /** Extra providers built as the production Worker builds them (e.g. hetzner at a fake's loopback URL). */
  providers?: string[];
  env?: Record<string, string>;
  file?: Record<string, unknown>;
  /** `system`: real time (end-to-end tests, where the CLI cannot send the test clock). */
  clock?: 'manual' | 'system';
  /** A provider hosted by the test process (src/testing/provider-bridge.ts), served under `name`. */
  bridge?: { name: string; url: string; capabilities: ConstructorParameters<typeof BridgeProvider>[0]['capabilities'] };
}

const json = (value: unknown, status = 200): Response => new Response(JSON.stringify(value ?? null), { status, headers: { 'content-type': 'application/json' } });

export class TestFleet {
  readonly #state: DurableObjectStateLike;
  #host: FleetHost | undefined;
  #failure: unknown;
  #clock = new ManualClock(0);
  #fake: FakeProvider | undefined;

  constructor(state: DurableObjectStateLike) {
    this.#state = state;
    // workerd evicts an idle object; the next request meets a fresh instance, which starts again from the saved init
    // (as the production object starts from its bindings).
    void state.blockConcurrencyWhile(async () => {
      state.storage.sql.exec('CREATE TABLE IF NOT EXISTS test_init (body TEXT NOT NULL)');
      const [saved] = state.storage.sql.exec('SELECT body FROM test_init').toArray();
      if (saved) await this.#init(JSON.parse(String(saved.body)) as TestInit, false);
    });
  }

  async fetch(request: Request): Promise<Response> {
    const now = request.headers.get('x-crabbox-test-now');
    if (now !== null) this.#clock.set(Number(now));
    const url = new URL(request.url);
    if (!url.pathname.startsWith('/__test/')) return this.#host ? this.#host.fetch(request) : startFailure(this.#failure ?? new Error('not initialized'));
    const body = request.method === 'POST' ? ((await request.json()) as Record<string, unknown>) : {};
    switch (url.pathname) {
      case '/__test/init':
        return this.#init(body as unknown as TestInit);
      case '/__test/store': {
        const store = this.#host!.deps.store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
        try {
          return json({ ok: true, value: await store[String(body.method)]!(...((body.args as unknown[]) ?? [])) });
        } catch (error) {
          return json({ ok: false, error: error instanceof Error ? error.message : String(error) });
        }
      }
      case '/__test/machines':
        return json([...this.#fake!.machines.values()]);
      case '/__test/deletions':
        return json(this.#fake!.deletions(String(body.providerId)));
      case '/__test/fail':
        this.#fake!.fail({ step: body.step as 'delete', times: Number(body.times ?? 1) });
        return json({ ok: true });
      case '/__test/sweep':
        return json(await sweep(this.#host!.deps, body as SweepOptions));
      case '/__test/alarm': {
        // As workers-sdk's runDurableObjectAlarm: run the alarm handler if an alarm is set and (unless forced) due.
        const at = await this.#host!.alarmAt();
        if (at === undefined || (!body.force && at > this.#clock.now())) return json({ ran: false, alarmAt: at ?? null });
        await this.#state.storage.deleteAlarm();
        const stats = await this.#host!.alarm();
        return json({ ran: true, stats: stats ?? null, alarmAt: (await this.#host!.alarmAt()) ?? null });
      }
      case '/__test/alarm-at':
        return json((await this.#host!.alarmAt()) ?? null);
      default:
        return json({ error: 'not_found' }, 404);
    }
  }

  async #init(init: TestInit, save = true): Promise<Response> {
    if (save) {
      this.#state.storage.sql.exec('DELETE FROM test_init');
      this.#state.storage.sql.exec('INSERT INTO test_init (body) VALUES (?)', JSON.stringify(init));
    }
    this.#clock = new ManualClock(init.now);
    const clock: Clock = init.clock === 'system' ? systemClock : this.#clock;
    this.#fake = new FakeProvider({ hourlyPrice: init.fakeHourlyPrice ?? 0.5, clock });
    try {
      const extra = init.providers?.length
        ? await workerProviders(init.providers, { env: init.env ?? {}, file: (init.file ?? {}) as never, clock })
        : {};
      const providers: Record<string, Provider> = { fake: this.#fake, ...extra };
      if (init.bridge) providers[init.bridge.name] = new BridgeProvider(init.bridge);
      this.#host = await FleetHost.start({ state: this.#state, config: init.config, providers, clock, migrations: loadMigrations(), alarmClock: TEST_ALARMS });
      return json({ ok: true, installation: this.#host.deps.config.installation });
    } catch (error) {
      this.#failure = error;
      return startFailure(error);
    }
  }

  async alarm(): Promise<void> {
    await this.#host?.alarm();
  }
}

export default {
  fetch(request: Request, env: { FLEET: Namespace; CONTRACT: Namespace }): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname.startsWith('/__contract/')) return env.CONTRACT.get(env.CONTRACT.idFromName(url.searchParams.get('instance') ?? 'x')).fetch(request);
    // Each harness is its own Durable Object, so tests share nothing but the workerd process.
    const name = request.headers.get('x-crabbox-test-fleet') ?? 'fleet';
    return env.FLEET.get(env.FLEET.idFromName(name)).fetch(request);
  },
};
