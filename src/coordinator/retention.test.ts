import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { harness } from './testkit.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('retention and bounded responses', () => {
  it('100k stored runs: lists stay paginated, memory stays flat, and pruning removes history past the retention', async () => {
    await using h = await harness();
    const token = await h.userToken('alice', { expiresInSeconds: 90 * 86_400 });
    const owner = 'alice@example.com';
    const base = h.clock.now() - 100_000;
    await h.store.withTransaction(async (tx) => {
      for (let i = 0; i < 100_000; i++) {
        await tx.createRun({ id: `run_${i.toString(16).padStart(12, '0')}`, leaseId: 'cbx_000000000001', owner: i % 10 ? owner : 'bob@example.com', org: 'acme', command: 'npm test', createdAt: base + i });
      }
    });

    const first = await h.request('GET', '/v1/runs', { token });
    assert.equal(first.json.runs.length, 50, 'default page size');
    assert.ok(first.json.nextCursor);
    assert.equal((await h.request('GET', '/v1/runs?limit=501', { token })).status, 400, 'pages are capped at 500');

    const before = heapAfterGc();
    let cursor: string | undefined = first.json.nextCursor;
    let seen = first.json.runs.length;
    let bytes = 0;
    for (let page = 0; page < 250 && cursor; page++) {
      const res = await h.request('GET', `/v1/runs?limit=500&cursor=${cursor}`, { token });
      assert.equal(res.status, 200);
      assert.ok(res.json.runs.every((r: { owner: string }) => r.owner === owner));
      bytes = Math.max(bytes, JSON.stringify(res.json).length);
      seen += res.json.runs.length;
      cursor = res.json.nextCursor;
    }
    const growth = heapAfterGc() - before;
    assert.equal(seen, 90_000);
    assert.equal(cursor, undefined, 'the cursor walks to the end of alice\'s 90k runs');
    assert.ok(bytes < 500 * 1024, `a page stays small (${bytes} bytes)`);
    assert.ok(growth < 16 * 1024 * 1024, `heap grew ${Math.round(growth / 1024)} KiB while walking 90k runs`);

    h.clock.advance(h.deps.config.retentionSeconds * 1000 + 1);
    const pruned = await h.store.prune(h.clock.now() - h.deps.config.retentionSeconds * 1000);
    assert.equal(pruned.runs, 100_000);
    assert.equal((await h.request('GET', '/v1/runs', { token })).json.runs.length, 0);
  });
});
