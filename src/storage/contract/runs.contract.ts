import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { contractTest, T0, type StoreFactory } from './fixtures.ts';

/** RunStore: what every backend must do. */
export function runContract(name: string, factory: StoreFactory): void {
  const test = contractTest(factory);
  describe(`RunStore contract: ${name}`, () => {
    test('runs: create, finish once, get, list newest first without log tails, scoped and paginated', async (store) => {
      const run = await store.createRun({ id: 'run_000000000001', leaseId: 'cbx_000000000001', owner: 'alice', org: 'acme', command: 'npm test', createdAt: T0 });
      assert.equal(run.state, 'running');
      const finished = await store.finishRun(run.id, { exitCode: 2, endedAt: T0 + 5000, timings: { sync: 10, run: 4000 }, logTail: 'tail', logTruncated: true, junit: { tests: 3, failures: 1, errors: 0, skipped: 0, failed: ['a'] } });
      assert.equal(finished?.state, 'failed');
      assert.equal(finished?.exitCode, 2);
      assert.deepEqual(finished?.timings, { sync: 10, run: 4000 });
      assert.equal(finished?.logTail, 'tail');
      assert.equal(finished?.junit?.failures, 1);
      assert.equal(await store.finishRun(run.id, { exitCode: 0, endedAt: T0 + 6000 }), undefined);
      for (let i = 2; i <= 6; i++) await store.createRun({ id: `run_00000000000${i}`, leaseId: 'cbx_000000000001', owner: i % 2 ? 'bob' : 'alice', org: 'acme', createdAt: T0 + i });
      const page = await store.listRuns({ owner: 'alice', limit: 2 });
      assert.deepEqual(page.items.map((r) => r.id), ['run_000000000006', 'run_000000000004']);
      assert.equal(page.items[0]?.logTail, undefined);
      const next = await store.listRuns({ owner: 'alice', limit: 2, cursor: page.nextCursor });
      assert.deepEqual(next.items.map((r) => r.id), ['run_000000000002', 'run_000000000001']);
      assert.equal(next.nextCursor, undefined);
    });

    test('runs keep slug, provider, who exited, the interrupting signal and the command\'s own code; lists filter by state', async (store) => {
      const base = { leaseId: 'cbx_000000000001', slug: 'blue-crab', provider: 'fake', owner: 'alice', org: 'acme' };
      const a = await store.createRun({ ...base, id: 'run_0000000000a1', createdAt: T0 });
      assert.deepEqual([a.slug, a.provider], ['blue-crab', 'fake']);
      const junit = { tests: 1, passed: 0, failures: 1, errors: 0, skipped: 0, time: 0.5, files: [], failed: [{ kind: 'failure', suite: 's', name: 'n', line: 7 }], failedOmitted: 0, warnings: [] };
      const interrupted = await store.finishRun(a.id, { exitCode: 143, state: 'interrupted', source: 'crabbox', interrupted: 'SIGTERM', remoteExitCode: 9, syncSkipped: true, endedAt: T0 + 10, junit });
      assert.deepEqual(
        [interrupted?.state, interrupted?.exitCode, interrupted?.source, interrupted?.interrupted, interrupted?.remoteExitCode, interrupted?.syncSkipped],
        ['interrupted', 143, 'crabbox', 'SIGTERM', 9, true],
      );
      assert.deepEqual(interrupted?.junit, junit, 'the JUnit summary round-trips with its failed cases as objects');
      const b = await store.createRun({ ...base, id: 'run_0000000000a2', createdAt: T0 + 1 });
      await store.finishRun(b.id, { exitCode: 74, state: 'error', source: 'crabbox', endedAt: T0 + 20 });
      const c = await store.createRun({ ...base, id: 'run_0000000000a3', createdAt: T0 + 2 });
      const artifacts = { dir: '.crabbox/artifacts/run_0000000000a3', files: 2, bytes: 30, paths: ['coverage/lcov.info', 'test-results/a b.xml'], omitted: 0, skipped: 1, error: 'artifacts.maxFiles reached' };
      const withFiles = await store.finishRun(c.id, { exitCode: 0, endedAt: T0 + 30, artifacts });
      assert.deepEqual(withFiles?.artifacts, artifacts, 'what came back from the box round-trips');
      assert.equal(interrupted?.artifacts, undefined, 'a run that asked for nothing has none');
      const states = async (state?: 'interrupted' | 'error' | 'succeeded') => (await store.listRuns({ owner: 'alice', state })).items.map((r) => [r.id, r.state]);
      assert.deepEqual(await states('interrupted'), [[a.id, 'interrupted']]);
      assert.deepEqual(await states('error'), [[b.id, 'error']]);
      assert.deepEqual(await states('succeeded'), [[c.id, 'succeeded']]);
      const listed = (await store.listRuns({ owner: 'alice', state: 'interrupted' })).items[0];
      assert.deepEqual([listed?.slug, listed?.provider, listed?.interrupted, listed?.remoteExitCode, listed?.logTail], ['blue-crab', 'fake', 'SIGTERM', 9, undefined]);
      assert.deepEqual((await store.listRuns({ owner: 'alice', state: 'succeeded' })).items[0]?.artifacts?.paths, artifacts.paths, 'lists carry it too');
    });
  });
}
