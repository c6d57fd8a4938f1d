import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { systemClock } from '../domain/clock.ts';
import { openSqliteStore } from '../storage/sqlite.ts';
import { startServe, type ServeProcess } from '../testing/serve.ts';
import { isolatedEnv, tempDir } from '../testing/tmp.ts';
import { PUBLIC_KEY } from './testkit.ts';

const TOKEN = 'durability-test-shared-token-0123456789';
const headers = { authorization: `Bearer ${TOKEN}`, 'x-crabbox-owner': 'ci-bot', 'content-type': 'application/json' };

async function serveIn(dir: string, db: string): Promise<ServeProcess> {
  return startServe(isolatedEnv(dir, { CRABBOX_SHARED_TOKEN: TOKEN }), ['--providers', 'fake', '--db', db]);
}

async function createLease(url: string): Promise<{ id: string; state: string; machine: { hostKey: string } }> {
  const res = await fetch(`${url}/v1/leases`, { method: 'POST', headers, body: JSON.stringify({ sshPublicKey: PUBLIC_KEY }) });
  assert.equal(res.status, 201);
  return ((await res.json()) as { lease: { id: string; state: string; machine: { hostKey: string } } }).lease;
}

describe('durable lease records (real coordinator serve, SQLite file)', () => {
  it('kill -9 right after lease creates were acknowledged: after a restart every lease is there, active, with its machine id', async (t) => {
    const dir = tempDir('crabbox-crash-');
    t.after(() => dir.remove());
    const db = join(dir.path, 'coordinator.sqlite');
    const first = await serveIn(dir.path, db);
    let acked: Awaited<ReturnType<typeof createLease>>[];
    try {
      acked = await Promise.all(Array.from({ length: 8 }, () => createLease(first.url)));
    } finally {
      first.child.kill('SIGKILL'); // no shutdown path runs: what is on disk is all there is
    }
    assert.equal(await first.exited, 128);

    const store = await openSqliteStore({ path: db, now: systemClock.now() });
    try {
      for (const lease of acked) {
        const stored = await store.getLease(lease.id);
        assert.equal(stored?.state, 'active', lease.id);
        assert.ok(stored.providerId, `${lease.id} has its machine id`);
        assert.equal(stored.machine?.hostKey, lease.machine.hostKey);
      }
    } finally {
      await store.close();
    }
    const second = await serveIn(dir.path, db);
    try {
      for (const lease of acked) {
        const res = await fetch(`${second.url}/v1/leases/${lease.id}`, { headers });
        assert.equal(res.status, 200);
        assert.equal(((await res.json()) as { lease: { state: string } }).lease.state, 'active');
      }
    } finally {
      assert.equal(await second.stop(), 0);
    }
  });

  it('the WAL is fsynced before a lease create or release is answered (strace of the real process)', async (t) => {
    assert.equal(spawnSync('strace', ['-V']).status, 0, 'strace is needed for this test (scripts/setup.sh --test installs it)');
    const dir = tempDir('crabbox-fsync-');
    t.after(() => dir.remove());
    const db = join(dir.path, 'coordinator.sqlite');
    const log = join(dir.path, 'strace.log');
    const serve = await serveIn(dir.path, db);
    try {
      // Every thread; -y names each fd's file, so the WAL's fsync can be told from any other.
      const strace = spawn('strace', ['-f', '-qq', '-y', '-s', '40', '-e', 'trace=fsync,fdatasync,write,writev', '-o', log, '-p', String(serve.child.pid)], { stdio: 'ignore' });
      const traced = (): string => {
        try {
          return readFileSync(log, 'utf8');
        } catch {
          return '';
        }
      };
      // Attached once a request's answer shows up in the trace.
      for (let i = 0; i < 200 && !traced().includes('HTTP/1.1 200'); i++) await fetch(`${serve.url}/v1/health`);
      assert.ok(traced().includes('HTTP/1.1 200'), 'strace attached');
      const lease = await createLease(serve.url);
      const released = await fetch(`${serve.url}/v1/leases/${lease.id}/release`, { method: 'POST', headers });
      assert.equal(released.status, 200);
      strace.kill('SIGINT');
      await new Promise((resolve) => strace.once('exit', resolve));

      const lines = traced().split('\n');
      const answer = (status: string, after: number): number => lines.findIndex((line, i) => i > after && line.includes(`"HTTP/1.1 ${status}`));
      const walSync = (from: number, to: number): boolean => lines.slice(from, to).some((line) => /\b(fsync|fdatasync)\(\d+<[^>]*coordinator\.sqlite-wal>\) += 0/.test(line));
      const lastHealth = lines.findLastIndex((line, i) => line.includes('"HTTP/1.1 200') && i < answer('201', 0));
      const created = answer('201', 0);
      const releaseAnswer = answer('200', created);
      assert.ok(created > lastHealth && lastHealth >= 0, 'the create was answered after the health checks');
      assert.ok(walSync(lastHealth, created), 'an fsync of the WAL between the create request and its 201');
      assert.ok(releaseAnswer > created, 'the release was answered');
      assert.ok(walSync(created, releaseAnswer), 'an fsync of the WAL between the release request and its 200');
    } finally {
      await serve.stop();
    }
  });
});
