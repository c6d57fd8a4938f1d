import type { Clock } from '../../domain/clock.ts';
import { CrabboxError, isCrabboxError } from '../../domain/errors.ts';
import type { Provider } from '../../providers/provider.ts';
import { openDurableObjectSql, type DurableObjectSqlStorage } from '../../storage/sql/drivers/durable-object.ts';
import type { Migration } from '../../storage/sql/migrate.ts';
import { SqlFleetStore } from '../../storage/sql/store.ts';
import { MIN_DELAY_MS, nextWakeAt, scheduledPass, type PassTimes } from '../alarm.ts';
import { createApp } from '../app.ts';
import type { CoordinatorConfig } from '../config.ts';
import type { CoordinatorDeps, Logger } from '../deps.ts';
import { installationId } from '../installation.ts';
import { reconcilePool } from '../pool/reconcile.ts';
import type { SweepStats } from '../sweeper.ts';

/** What the host needs of a Durable Object's state (structural: the Node type check never sees workerd's types). */
export interface DurableObjectStateLike {
  storage: DurableObjectSqlStorage & {
    getAlarm(): Promise<number | null>;
    setAlarm(at: number): Promise<void>;
    deleteAlarm(): Promise<void>;
  };
  blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T>;
}

/** How store time maps to the platform's alarm time: the identity in production; tests keep the alarm from firing on its own. */
export interface AlarmClock {
  toPlatform(at: number): number;
  fromPlatform(at: number): number;
}

const SAME_TIME: AlarmClock = { toPlatform: (at) => at, fromPlatform: (at) => at };

export interface FleetHostOptions {
  state: DurableObjectStateLike;
  config: Omit<CoordinatorConfig, 'installation'> & { installation?: string | undefined };
  providers: Record<string, Provider>;
  clock: Clock;
  migrations: Migration[];
  logger?: Logger | undefined;
  alarmClock?: AlarmClock | undefined;
}

const PASS_META = 'sweep.passes';

/**
 * The coordinator inside the one Durable Object that owns the fleet: the shared app over Durable Object SQLite, and the
 * alarm in place of the Node timer. The object is an entry, not a home: everything it does is the shared code's.
 */
export class FleetHost {
  readonly deps: CoordinatorDeps;
  readonly #app: ReturnType<typeof createApp>;
  readonly #state: DurableObjectStateLike;
  readonly #alarmClock: AlarmClock;
  /**
   * The alarm as this object last set it, in store time (null: none; undefined: not read yet). Only this object sets
   * or clears its alarm, so the copy stays true and a write does not pay a storage read to compare against it.
   */
  #alarmSet: number | null | undefined;

  private constructor(state: DurableObjectStateLike, deps: CoordinatorDeps, alarmClock: AlarmClock) {
    this.#state = state;
    this.deps = deps;
    this.#alarmClock = alarmClock;
    this.#app = createApp(deps);
  }

  /** Migrates the store (the numbered .sql files, bundled), settles the installation id and arms the alarm. */
  static async start(options: FleetHostOptions): Promise<FleetHost> {
    const { state, clock } = options;
    const store = await SqlFleetStore.open({ driver: openDurableObjectSql(state.storage), now: clock.now(), migrations: options.migrations });
    const config: CoordinatorConfig = { ...options.config, installation: await installationId(store, options.config.installation) };
    const deps: CoordinatorDeps = {
      store, providers: options.providers, clock, config, logger: options.logger,
      // Cloudflare's edge sets CF-Connecting-IP on every request and overwrites whatever a client sent.
      peerAddress: (c) => c.req.header('cf-connecting-ip'),
    };
    const host = new FleetHost(state, deps, options.alarmClock ?? SAME_TIME);
    // A claim that took a pool machine (or found none) asks for a pool pass soon: the alarm, moved up.
    deps.pokePool = () => void host.armAt(clock.now() + MIN_DELAY_MS).catch(() => undefined);
    await host.arm();
    return host;
  }

  async fetch(request: Request): Promise<Response> {
    const response = await this.#app.fetch(request);
    // A write may have made something due sooner (a new lease's expiry): the alarm moves earlier, never later, here.
    if (request.method !== 'GET' && request.method !== 'HEAD') await this.arm();
    // Node's server adds Date to every answer and clients read the coordinator's clock from it (doctor's clock-skew
    // check); workerd does not, so the object does, from the injected clock.
    return response.headers.has('date') ? response : withDate(response, new Date(this.deps.clock.now()).toUTCString());
  }

  /** Sets the alarm to the next wake-up when there is none or it is later than that. */
  async arm(): Promise<number> {
    return this.armAt(await nextWakeAt(this.deps));
  }

  async armAt(at: number): Promise<number> {
    if (this.#alarmSet === undefined) {
      const current = await this.#state.storage.getAlarm();
      this.#alarmSet = current === null ? null : this.#alarmClock.fromPlatform(current);
    }
    if (this.#alarmSet === null || this.#alarmSet > at) await this.#setAlarm(at);
    return at;
  }

  async #setAlarm(at: number): Promise<void> {
    // Forget the copy first: if the write fails, the next arm reads the platform's alarm again.
    this.#alarmSet = undefined;
    await this.#state.storage.setAlarm(this.#alarmClock.toPlatform(at));
    this.#alarmSet = at;
  }

  /** When the alarm is set for, in store time (undefined: none). */
  async alarmAt(): Promise<number | undefined> {
    const at = await this.#state.storage.getAlarm();
    return at === null ? undefined : this.#alarmClock.fromPlatform(at);
  }

  /**
   * The alarm: the scheduled pass (sweep; orphan sweep and pruning on their own cadence, their last runs in the store),
   * the warm pool pass when pools are configured, then the alarm re-armed at the next due time from the tables, in `finally`. It never throws, so a bad machine
   * cannot burn the platform's alarm retries: per-item failures are the sweep's bookkeeping (backoff, next attempt).
   */
  async alarm(): Promise<SweepStats | undefined> {
    const { store } = this.deps;
    // The platform cleared the alarm as it fired it.
    this.#alarmSet = null;
    try {
      const last = await passTimes(store);
      const pass = await scheduledPass(this.deps, last);
      if (pass.last.orphans !== last.orphans || pass.last.prune !== last.prune) await store.setMeta(PASS_META, JSON.stringify(pass.last));
      // The warm pool pass rides on the alarm as it rides on the Node timer.
      if (this.deps.config.pools.length > 0) {
        await reconcilePool(this.deps).catch((error: unknown) => this.deps.logger?.error('pool pass failed', { error: String(error instanceof Error ? error.message : error).slice(0, 300) }));
      }
      return pass.stats;
    } catch (error) {
      this.deps.logger?.error('alarm failed', { error: String(error instanceof Error ? error.message : error).slice(0, 300) });
      return undefined;
    } finally {
      try {
        await this.#setAlarm(await nextWakeAt(this.deps));
      } catch (error) {
        this.deps.logger?.error('alarm could not be re-armed', { error: String(error instanceof Error ? error.message : error).slice(0, 300) });
      }
    }
  }
}

/**
 * The response with a Date header. The app's responses are made here, so their headers can be set in place; a copy
 * (a second Response per request) only for one whose headers are immutable.
 */
function withDate(response: Response, date: string): Response {
  try {
    response.headers.set('date', date);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    copy.headers.set('date', date);
    return copy;
  }
}

async function passTimes(store: CoordinatorDeps['store']): Promise<PassTimes> {
  try {
    const parsed = JSON.parse((await store.getMeta(PASS_META)) ?? '{}') as Partial<PassTimes>;
    return { orphans: Number(parsed.orphans ?? 0) || 0, prune: Number(parsed.prune ?? 0) || 0 };
  } catch {
    return { orphans: 0, prune: 0 };
  }
}

/** The answer to every request while the object could not start (a bad config): one line, never a stack. */
export function startFailure(error: unknown): Response {
  const e = isCrabboxError(error) ? error : new CrabboxError('unavailable', `the coordinator could not start: ${error instanceof Error ? error.message : String(error)}`);
  return Response.json({ error: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) }, { status: 503 });
}
