// Memory of the coordinator's process after storing N runs in its SQLite store (file-backed), against the same
// process with an empty store. Run with --expose-gc; argv: <database path> <runs>. Prints one JSON line.
import { systemClock } from '../src/domain/clock.ts';
import { coordinatorConfig } from '../src/coordinator/config.ts';
import { createApp } from '../src/coordinator/app.ts';
import { FakeProvider } from '../src/providers/fake/fake-provider.ts';
import { openSqliteStore } from '../src/storage/sqlite.ts';

const [database, countText] = process.argv.slice(2);
const count = Number(countText);
const gc = (globalThis as { gc?: () => void }).gc;
if (!database || !Number.isInteger(count) || count < 1 || !gc) {
  process.stderr.write('usage: node --expose-gc coordinator-memory.ts <database> <runs>\n');
  process.exit(64);
}
const sample = (): { rss: number; heap: number } => {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
};

const store = await openSqliteStore({ path: database, now: systemClock.now() });
const app = createApp({ store, providers: { fake: new FakeProvider() }, clock: systemClock, config: coordinatorConfig({ defaultProvider: 'fake', auth: { sharedToken: 'bench-memory-token-0123456789' } }) });
await app.request('/v1/health');
const before = sample();
const base = systemClock.now() - count;
for (let start = 0; start < count; start += 10_000) {
  await store.withTransaction(async (tx) => {
    for (let i = start; i < Math.min(count, start + 10_000); i++) {
      await tx.createRun({ id: `run_${i.toString(16).padStart(12, '0')}`, leaseId: 'cbx_000000000001', owner: `user${i % 10}@example.com`, org: 'acme', command: 'npm test', createdAt: base + i });
    }
  });
}
const page = await app.request('/v1/runs?limit=500', { headers: { authorization: 'Bearer bench-memory-token-0123456789', 'x-crabbox-owner': 'user1@example.com' } });
if (page.status !== 200) throw new Error(`GET /v1/runs answered ${page.status}`);
await page.text();
const after = sample();
await store.close();
process.stdout.write(`${JSON.stringify({ runs: count, before, after })}\n`);
