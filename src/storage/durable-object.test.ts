import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { stopWorkerd, workerFetch } from '../testing/workerd.ts';

// The store contract (src/storage/contract/) on Durable Object SQLite, run inside workerd: the suites are bundled into
// the test Worker, which runs each contract test in a Durable Object of its own; here one `it` per contract test.
after(stopWorkerd);

const names = (await (await workerFetch('http://contract.test/__contract/list')).json()) as string[];

describe('store contract inside workerd (Durable Object SQLite)', () => {
  it('the test Worker holds the whole contract', () => {
    for (const port of ['LeaseStore', 'MachineStore', 'RunStore', 'EventStore', 'LoginStore', 'FleetStore']) {
      assert.ok(names.some((n) => n.includes(`${port} contract: Durable Object SQLite`)), `${port} contract missing`);
    }
  });
  for (const name of names) {
    it(name, async () => {
      const url = `http://contract.test/__contract/run?name=${encodeURIComponent(name)}&instance=${randomBytes(8).toString('hex')}`;
      const result = (await (await workerFetch(url)).json()) as { ok: boolean; error?: string };
      assert.ok(result.ok, result.error);
    });
  }
});
