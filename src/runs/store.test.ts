import { after, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import fs, { readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { basename, join } from 'node:path';
import { ManualClock } from '../domain/clock.ts';
import { isCrabboxError } from '../domain/errors.ts';
import { ExitCode } from '../domain/exit-codes.ts';
import { REDACTED, clearSecrets, registerSecret } from '../redact/redact.ts';
import { tempDir } from '../testing/tmp.ts';
import { LocalRunRecorder } from './local-recorder.ts';
import { LocalRunStore, parseRunId } from './store.ts';

const tmp = tempDir();
after(() => {
  tmp.remove();
  clearSecrets();
});

let counter = 0;
function setup(historyLimit = 50) {
  const stateDir = join(tmp.path, `state-${counter++}`);
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
  const store = new LocalRunStore({ stateDir, historyLimit, clock });
  let n = 0;
  const random = (len: number) => Uint8Array.from({ length: len }, (_, i) => (i === len - 1 ? n++ : 0xab));
  const recorder = new LocalRunRecorder({ store, clock, recordCommand: true, random });
  return { stateDir, clock, store, recorder };
}

function fileOf(store: LocalRunStore, id: string): string {
  return readdirSync(store.dir).find((name) => name.endsWith(`_${id}.json`))!;
}

const start = { leaseId: 'cbx_0123456789ab', slug: 'blue-lobster', provider: 'local', command: ['npm', 'test'] };

describe('LocalRunRecorder and LocalRunStore', () => {
  it('records a run from start to finish', async () => {
    const { store, recorder, clock } = setup();
    const id = await recorder.start(start);
    assert.match(id, /^run_[0-9a-f]{12}$/);
    assert.equal(store.get(id).state, 'running');
    clock.advance(1500);
    await recorder.finish(id, { exitCode: 0, timings: { command: 1230, total: 1400 }, syncSteps: { fingerprint: 4 }, syncSkipped: true, logTail: { text: 'ok\n', totalBytes: 3, truncated: false } });
    const record = store.get(id);
    assert.deepEqual(record, {
      version: 1, id, leaseId: start.leaseId, slug: start.slug, provider: 'local', command: ['npm', 'test'], state: 'succeeded', exitCode: 0, source: 'remote',
      timings: { command: 1230, total: 1400 }, syncSteps: { fingerprint: 4 }, syncSkipped: true, startedAt: '2026-01-01T12:00:00.000Z', endedAt: '2026-01-01T12:00:01.500Z',
      logTail: { text: 'ok\n', totalBytes: 3, truncated: false },
    });
  });

  it('derives the state from how the run ended, and keeps the first finish', async () => {
    const { store, recorder } = setup();
    const cases = [
      [{ exitCode: 1 }, 'failed'], [{ exitCode: 137 }, 'failed'], [{ exitCode: 130, interrupted: 'SIGINT' as const }, 'interrupted'], [{ exitCode: 74, source: 'crabbox' as const }, 'error'],
    ] as const;
    for (const [finish, state] of cases) {
      const id = await recorder.start(start);
      await recorder.finish(id, { ...finish, timings: {} });
      await recorder.finish(id, { exitCode: 0, timings: {} });
      assert.equal(store.get(id).state, state);
    }
  });

  it('drops the command when recording it is disabled', async () => {
    const { store, clock } = setup();
    const recorder = new LocalRunRecorder({ store, clock, recordCommand: false });
    const id = await recorder.start(start);
    assert.equal(store.get(id).command, undefined);
    assert.ok(!readFileSync(join(store.dir, fileOf(store, id)), 'utf8').includes('npm'));
  });

  it('writes files atomically with mode 0600 in a 0700 folder, leaving no temporary files', async () => {
    const { store, recorder } = setup();
    const id = await recorder.start(start);
    await recorder.finish(id, { exitCode: 0, timings: {} });
    assert.equal(statSync(store.dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(store.dir, fileOf(store, id))).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(store.dir), [`20260101T120000000Z_${id}.json`]);
  });

  it('keeps at most historyLimit runs, pruning the oldest', async () => {
    const { store, recorder, clock } = setup(3);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      clock.advance(1000);
      ids.push(await recorder.start(start));
    }
    assert.deepEqual(store.list().map((r) => r.id), ids.slice(3).reverse());
    assert.equal(readdirSync(store.dir).length, 3);
  });

  it('lists newest first with lease, slug, state and limit filters', async () => {
    const { store, recorder, clock } = setup();
    const a = await recorder.start(start);
    clock.advance(10);
    const b = await recorder.start({ ...start, leaseId: 'cbx_ffffffffffff', slug: 'red-crab' });
    clock.advance(10);
    const c = await recorder.start(start);
    await recorder.finish(c, { exitCode: 2, timings: {} });
    assert.deepEqual(store.list().map((r) => r.id), [c, b, a]);
    assert.deepEqual(store.list({ leaseId: start.leaseId }).map((r) => r.id), [c, a]);
    assert.deepEqual(store.list({ slug: 'red-crab' }).map((r) => r.id), [b]);
    assert.deepEqual(store.list({ state: 'failed' }).map((r) => r.id), [c]);
    assert.deepEqual(store.list({ limit: 1 }).map((r) => r.id), [c]);
  });

  it('ignores malformed, foreign and oversized files in the folder', async () => {
    const { store, recorder } = setup();
    const id = await recorder.start(start);
    mkdirSync(store.dir, { recursive: true });
    writeFileSync(join(store.dir, '20250101T000000000Z_run_000000000000.json'), '{not json');
    writeFileSync(join(store.dir, 'notes.txt'), 'hello');
    writeFileSync(join(store.dir, 'run_222222222222.json'), JSON.stringify({ id: 'run_222222222222', state: 'running', startedAt: '2026-01-01T00:00:00Z' }));
    writeFileSync(join(store.dir, '20250101T000000000Z_run_111111111111.json'), JSON.stringify({ id: 'run_111111111111', state: 'weird', startedAt: 'x' }));
    writeFileSync(join(store.dir, '20250101T000000000Z_run_333333333333.json'), JSON.stringify({ id: 'run_444444444444', state: 'running', startedAt: '2026-01-01T00:00:00Z' }));
    assert.deepEqual(store.list().map((r) => r.id), [id]);
    for (const other of ['run_000000000000', 'run_222222222222', 'run_333333333333', 'run_444444444444']) {
      assert.throws(() => store.get(other), (e: unknown) => isCrabboxError(e) && e.exitCode === ExitCode.notFound, other);
    }
  });

  it('reads only as many files as the listing needs', async () => {
    const { store, recorder, clock } = setup();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      ids.push(await recorder.start(start));
    }
    // Corrupt the oldest: a limited listing of the newest never reads it, an unlimited one skips it.
    writeFileSync(join(store.dir, fileOf(store, ids[0]!)), '{broken');
    const read: string[] = [];
    const realRead = fs.readFileSync;
    const spy = mock.method(fs, 'readFileSync', (...args: Parameters<typeof fs.readFileSync>) => {
      read.push(String(args[0]));
      return (realRead as (...a: unknown[]) => unknown)(...args);
    });
    syncBuiltinESMExports(); // the store's named import sees the spy
    try {
      assert.deepEqual(store.list({ limit: 2 }).map((r) => r.id), [ids[4], ids[3]]);
      const records = read.filter((p) => p.startsWith(store.dir)).map((p) => basename(p));
      assert.deepEqual(records.sort(), [fileOf(store, ids[4]!), fileOf(store, ids[3]!)].sort(), 'only the two newest records were read');
    } finally {
      spy.mock.restore();
      syncBuiltinESMExports();
    }
    assert.deepEqual(store.list().map((r) => r.id), ids.slice(1).reverse());
  });

  it('refuses malformed run ids (64) before touching a path, and unknown ones are not found (66)', () => {
    const { store } = setup();
    for (const bad of ['../../etc/passwd', 'run_', 'run_0123456789ABz', '', 'run_0123456789ab/../x', '-rf', 'run_0123456789ab\n']) {
      assert.throws(() => store.get(bad), (e: unknown) => isCrabboxError(e) && e.exitCode === (bad === 'run_0123456789ab\n' ? ExitCode.notFound : ExitCode.usage) && !e.message.includes('\n'), JSON.stringify(bad));
    }
    assert.throws(() => store.get('run_0123456789ab'), (e: unknown) => isCrabboxError(e) && e.exitCode === ExitCode.notFound);
    assert.equal(parseRunId(' RUN_0123456789AB '), 'run_0123456789ab');
  });

  it('redacts everything it stores', async () => {
    registerSecret('store-canary-77aa');
    const { store, recorder } = setup();
    const id = await recorder.start({ ...start, command: ['curl', '-H', 'Authorization: Bearer store-canary-77aa', 'https://u:pw1234@x.example'] });
    await recorder.finish(id, { exitCode: 0, timings: {}, logTail: { text: 'printed store-canary-77aa\n', totalBytes: 1, truncated: false } });
    const raw = readFileSync(join(store.dir, fileOf(store, id)), 'utf8');
    assert.ok(!raw.includes('store-canary-77aa') && !raw.includes('pw1234'));
    assert.equal(store.get(id).logTail?.text, `printed ${REDACTED}\n`);
  });
});
