// The store contract inside workerd: the same suites as SQLite and PostgreSQL (src/storage/contract/), over Durable
// Object SQLite. Each contract test runs in a Durable Object of its own (an empty database).
import { runStoreContract } from '../../storage/store.contract.ts';
import { openDurableObjectSql } from '../../storage/sql/drivers/durable-object.ts';
import { loadMigrations } from '../../storage/sql/migrations.ts';
import { SqlFleetStore } from '../../storage/sql/store.ts';
import { collected } from '../../testing/node-test-collector.ts';
import type { DurableObjectStateLike } from './fleet-host.ts';

const holder: { state: DurableObjectStateLike | undefined } = { state: undefined };
const open = () => SqlFleetStore.open({ driver: openDurableObjectSql(holder.state!.storage), now: Date.UTC(2026, 0, 15), migrations: loadMigrations() });

runStoreContract('Durable Object SQLite', { make: async () => ({ store: await open(), reopen: open }) });

export class ContractHost {
  readonly #state: DurableObjectStateLike;
  constructor(state: DurableObjectStateLike) {
    this.#state = state;
  }

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/__contract/list') return Response.json(collected().map((t) => t.name));
    const test = collected().find((t) => t.name === url.searchParams.get('name'));
    if (!test) return Response.json({ ok: false, error: 'no such contract test' }, { status: 404 });
    holder.state = this.#state;
    try {
      await test.fn();
      return Response.json({ ok: true });
    } catch (error) {
      const e = error as Error;
      return Response.json({ ok: false, error: `${e.message}\n${e.stack ?? ''}`.slice(0, 4000) });
    }
  }
}
