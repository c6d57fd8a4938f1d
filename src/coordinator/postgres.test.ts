import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ManualClock } from '../domain/clock.ts';
import type { CrabboxError } from '../domain/errors.ts';
import { redact } from '../redact/redact.ts';
import { openPostgresStore } from '../storage/postgres.ts';
import { BIN } from '../testing/cli.ts';
import { startPostgres, type TestPostgres } from '../testing/postgres.ts';
import { tempDir } from '../testing/tmp.ts';
import { loadServeSettings } from './load-config.ts';
import { harness, PUBLIC_KEY, SHARED_TOKEN, type Harness } from './testkit.ts';

/** The coordinator over the PostgreSQL store: the API flow, two replicas sharing one database, and `serve` choosing it. */

const T0 = Date.UTC(2026, 0, 15, 12);
let server: Promise<TestPostgres> | undefined;
const cluster = () => (server ??= startPostgres());
after(async () => {
  if (server) await (await server).stop();
});
let schemas = 0;

async function replica(schema: string, caps?: { global: number }): Promise<Harness> {
  const clock = new ManualClock(T0);
  const store = await openPostgresStore({ url: (await cluster()).url, schema, now: clock.now() });
  return harness({ store, clock, ...(caps ? { config: { caps: { activeLeases: caps } } } : {}) });
}

describe('coordinator on PostgreSQL', () => {
  it('create -> heartbeat -> release through the API', async () => {
    await using h = await replica(`coord_t${++schemas}`);
    const alice = await h.userToken('alice');
    const created = await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: PUBLIC_KEY, ttlSeconds: 3600 } });
    assert.equal(created.status, 201);
    assert.equal(created.json.lease.state, 'active');
    const id = created.json.lease.id as string;
    h.clock.advance(60_000);
    const beat = await h.request('POST', `/v1/leases/${id}/heartbeat`, { token: alice });
    assert.equal(beat.status, 200);
    assert.equal(Date.parse(beat.json.lease.lastTouchedAt), h.clock.now());
    const released = await h.request('POST', `/v1/leases/${id}/release`, { token: alice });
    assert.equal(released.status, 200);
    assert.equal(released.json.lease.state, 'released');
    assert.equal(h.provider.machines.size, 0);
    const again = await h.request('POST', `/v1/leases/${id}/heartbeat`, { token: alice });
    assert.equal(again.status, 409);
    const events = await h.store.listEvents({ leaseId: id, limit: 50 });
    assert.ok(events.items.some((e) => e.type === 'lease.released'));
  });

  it('two replicas sharing the database enforce one global cap: 50 parallel creates, exactly 10 leases', async () => {
    const schema = `coord_t${++schemas}`;
    const [a, b] = [await replica(schema, { global: 10 }), await replica(schema, { global: 10 })];
    try {
      const tokens = [await a.userToken('alice'), await b.userToken('bob')];
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).request('POST', '/v1/leases', { token: tokens[i % 2], body: { sshPublicKey: PUBLIC_KEY } })),
      );
      assert.equal(results.filter((r) => r.status === 201).length, 10);
      assert.equal(results.filter((r) => r.status === 429 && r.json.error === 'cap_reached').length, 40);
      assert.equal(await a.store.countLiveLeases({}), 10);
      assert.equal(a.provider.machines.size + b.provider.machines.size, 10);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('coordinator serve with CRABBOX_DATABASE_URL', () => {
  it('serves from PostgreSQL and never logs the password', async () => {
    const { url } = await cluster();
    // Trust auth ignores the password, which lets the test check it never reaches the log.
    const withPassword = url.replace('postgres://crabbox@', 'postgres://crabbox:pw-s3cret-value@');
    const state = tempDir('crabbox-serve-pg-');
    const child = spawn(process.execPath, [BIN, 'coordinator', 'serve', '--port', '0', '--providers', 'fake', '--debug'], {
      env: { PATH: process.env.PATH, HOME: state.path, XDG_STATE_HOME: state.path, CRABBOX_DATABASE_URL: withPassword, CRABBOX_DATABASE_SCHEMA: 'serve_t1', CRABBOX_SHARED_TOKEN: SHARED_TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    // close, not exit: exit can come before the last of stderr has been read, and the log line is checked below.
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    try {
      const listening = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 30_000);
        child.stdout.on('data', (b: Buffer) => {
          stdout += b.toString();
          const m = /listening (\S+)/.exec(stdout);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
        child.once('exit', () => {
          clearTimeout(timer);
          reject(new Error(`serve exited: ${stderr}`));
        });
      });
      const ready = await fetch(`${listening}/v1/ready`, { headers: { authorization: `Bearer ${SHARED_TOKEN}`, 'x-crabbox-owner': 'ops@example.com' } });
      assert.equal(ready.status, 200);
      const check = await openPostgresStore({ url, schema: 'serve_t1', now: T0 });
      try {
        assert.match((await check.getMeta('installation')) ?? '', /^cbx-/);
      } finally {
        await check.close();
      }
    } finally {
      child.kill('SIGTERM');
      await exited;
      state.remove();
    }
    assert.match(stderr, /database postgres postgres:\/\/127\.0\.0\.1:\d+\/postgres schema serve_t1/);
    assert.doesNotMatch(stderr + stdout, /pw-s3cret-value/);
  });

  it('refuses a connection string in --db with one line and exit code, echoing nothing', async () => {
    const state = tempDir('crabbox-serve-pg-');
    try {
      const child = spawn(process.execPath, [BIN, 'coordinator', 'serve', '--port', '0', '--db', 'postgres://u:pw-in-flag-123@127.0.0.1/x'], {
        env: { PATH: process.env.PATH, HOME: state.path, XDG_STATE_HOME: state.path }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
      assert.equal(code, 78);
      assert.match(stderr, /CRABBOX_DATABASE_URL/);
      assert.equal(stderr.trim().split('\n').length <= 2, true, stderr);
      assert.doesNotMatch(stderr, /pw-in-flag-123/);
    } finally {
      state.remove();
    }
  });
});

describe('serve settings for PostgreSQL', () => {
  const refused = (env: NodeJS.ProcessEnv, flags: { database?: string } = {}, secret?: string) => {
    assert.throws(() => loadServeSettings({ XDG_STATE_HOME: '/nonexistent', ...env }, flags), (error: CrabboxError) => {
      assert.equal(error.code, 'invalid_config');
      if (secret) assert.doesNotMatch(error.message, new RegExp(secret));
      return true;
    });
  };

  it('reads the connection string from a 0600 file and treats it as a secret', () => {
    const dir = tempDir('crabbox-dburl-');
    try {
      const file = join(dir.path, 'db-url');
      writeFileSync(file, 'postgresql://fleet:file-pass-9876@db.internal:5432/fleet\n', { mode: 0o600 });
      const settings = loadServeSettings({ XDG_STATE_HOME: dir.path, CRABBOX_DATABASE_URL_FILE: file, CRABBOX_DATABASE_SCHEMA: 'crabbox' });
      assert.equal(settings.databaseUrl, 'postgresql://fleet:file-pass-9876@db.internal:5432/fleet');
      assert.equal(settings.databaseSchema, 'crabbox');
      assert.doesNotMatch(redact(`connecting with file-pass-9876`), /file-pass-9876/);
      chmodSync(file, 0o644);
      refused({ CRABBOX_DATABASE_URL_FILE: file }, {}, 'file-pass-9876');
    } finally {
      dir.remove();
    }
  });

  it('without CRABBOX_DATABASE_URL the SQLite file is used', () => {
    const settings = loadServeSettings({ XDG_STATE_HOME: '/var/empty/state' });
    assert.equal(settings.databaseUrl, undefined);
    assert.match(settings.database, /coordinator\.sqlite$/);
  });

  it('refuses connection strings outside the env, other schemes and hostile schema names', () => {
    refused({}, { database: 'postgres://u:flag-pass-1234@h/db' }, 'flag-pass-1234');
    refused({ CRABBOX_COORDINATOR_DB: 'postgresql://u:env-pass-1234@h/db' }, {}, 'env-pass-1234');
    refused({ CRABBOX_DATABASE_URL: 'mysql://u:other-pass-1234@h/db' }, {}, 'other-pass-1234');
    refused({ CRABBOX_DATABASE_URL: 'postgres://h/db', CRABBOX_DATABASE_SCHEMA: 'x"; drop' });
  });
});
