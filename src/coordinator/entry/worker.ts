// The coordinator on Cloudflare Workers: every request goes to the one Durable Object that owns the fleet (FLEET,
// SQLite-backed), which serves the same createApp as Node over Durable Object SQLite and sweeps on its alarm.
// Built by scripts/worker-build.ts (`npm run build` writes dist/worker/worker.js); deployed by `crabbox coordinator deploy`.
import { systemClock } from '../../domain/clock.ts';
import { loadMigrations } from '../../storage/sql/migrations.ts';
import type { Logger } from '../deps.ts';
import { FleetHost, startFailure, type DurableObjectStateLike } from './fleet-host.ts';
import { workerSettings } from './worker-config.ts';
import { workerProviders } from './worker-providers.ts';

interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(request: Request): Promise<Response> };
}

export interface WorkerEnv {
  FLEET: DurableObjectNamespaceLike;
  [binding: string]: unknown;
}

/** Log lines for `wrangler tail`: one JSON object each; the callers redacted what they pass. */
const consoleLogger: Logger = {
  info: (message, data) => console.log(JSON.stringify({ level: 'info', message, ...data })),
  warn: (message, data) => console.warn(JSON.stringify({ level: 'warn', message, ...data })),
  error: (message, data) => console.error(JSON.stringify({ level: 'error', message, ...data })),
};

const strings = (env: Record<string, unknown>): Record<string, string | undefined> => Object.fromEntries(Object.entries(env).map(([k, v]) => [k, typeof v === 'string' ? v : undefined]));

/** The Durable Object class (binding FLEET). One instance, named `fleet`, serializes every change to the fleet. */
export class Fleet {
  #host: FleetHost | undefined;
  #failure: unknown;

  constructor(state: DurableObjectStateLike, env: WorkerEnv) {
    void state.blockConcurrencyWhile(async () => {
      try {
        const settings = workerSettings(env);
        const providers = await workerProviders(settings.providers, { env: strings(env), file: settings.file, clock: systemClock });
        this.#host = await FleetHost.start({ state, config: settings.config, providers, clock: systemClock, migrations: loadMigrations(), logger: consoleLogger });
      } catch (error) {
        this.#failure = error;
        consoleLogger.error('the coordinator could not start', { error: error instanceof Error ? error.message : String(error) });
      }
    });
  }

  fetch(request: Request): Promise<Response> | Response {
    return this.#host ? this.#host.fetch(request) : startFailure(this.#failure);
  }

  async alarm(): Promise<void> {
    await this.#host?.alarm();
  }
}

export default {
  fetch(request: Request, env: WorkerEnv): Promise<Response> {
    return env.FLEET.get(env.FLEET.idFromName('fleet')).fetch(request);
  },
};
