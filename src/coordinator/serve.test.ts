import assert from 'node:assert/strict';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runBin } from '../testing/cli.ts';
import { startServe } from '../testing/serve.ts';
import { isolatedEnv, tempDir } from '../testing/tmp.ts';
import { openSqliteStore } from '../storage/sqlite.ts';
import { PUBLIC_KEY } from './testkit.ts';

const TOKEN = 'serve-test-shared-token-0123456789';

describe('crabbox coordinator serve (real process, loopback HTTP)', () => {
  it('serves the API on a free loopback port, survives a restart with its state, and shuts down on SIGTERM', async () => {
    const dir = tempDir('crabbox-serve-');
    const db = join(dir.path, 'coordinator.sqlite');
    const env = isolatedEnv(dir.path, { CRABBOX_SHARED_TOKEN: TOKEN });
    const headers = { authorization: `Bearer ${TOKEN}`, 'x-crabbox-owner': 'ci-bot', 'content-type': 'application/json' };
    const children: ChildProcessWithoutNullStreams[] = [];
    try {
      const first = await startServe(env, ['--providers', 'fake', '--db', db]);
      children.push(first.child);
      assert.deepEqual(await (await fetch(`${first.url}/v1/health`)).json(), { ok: true });
      assert.equal((await fetch(`${first.url}/v1/whoami`)).status, 401);
      const created = await fetch(`${first.url}/v1/leases`, { method: 'POST', headers, body: JSON.stringify({ sshPublicKey: PUBLIC_KEY, ttlSeconds: 600 }) });
      assert.equal(created.status, 201);
      const { lease } = (await created.json()) as { lease: { id: string; machine: { hostKey: string } } };
      assert.match(lease.machine.hostKey, /^ssh-ed25519 AAAA[A-Za-z0-9+/=]+ crabbox-host-\S+$/, 'a real ed25519 host key');
      const bad = await fetch(`${first.url}/v1/leases`, { method: 'POST', headers, body: '{"sshPublicKey": 1' });
      assert.equal(bad.status, 400);
      first.child.kill('SIGTERM');
      assert.equal(await first.exited, 0);

      const second = await startServe(env, ['--providers', 'fake', '--db', db]);
      children.push(second.child);
      const again = await fetch(`${second.url}/v1/leases/${lease.id}`, { headers });
      assert.equal(again.status, 200, 'the lease survived the restart');
      second.child.kill('SIGINT');
      assert.equal(await second.exited, 0);

      const store = await openSqliteStore({ path: db, now: Date.now() });
      try {
        assert.equal((await store.getLease(lease.id))?.owner, 'ci-bot');
        assert.match((await store.getMeta('installation')) ?? '', /^cbx-[0-9a-f]{10}$/);
      } finally {
        await store.close();
      }
    } finally {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      dir.remove();
    }
  });

  it('refuses bad settings with one line and a documented exit code', async () => {
    const dir = tempDir('crabbox-serve-bad-');
    try {
      const same = 'the-same-secret-for-both-0123456789abcdef';
      const base = isolatedEnv(dir.path);
      const sudoTypo = join(dir.path, 'sudo-typo.yaml');
      writeFileSync(sudoTypo, 'sudo:\n  classes: [standard, standrad]\n');
      const cases: [string[], NodeJS.ProcessEnv, number, RegExp][] = [
        [['--port', 'abc'], base, 64, /--port must be 0-65535/],
        [['--providers', 'nope'], base, 78, /provider "nope" is not available/],
        [['--providers', 'fake'], { ...base, CRABBOX_SHARED_TOKEN: same, CRABBOX_SESSION_SECRET: same }, 78, /must differ from the shared token/],
        [['--providers', 'fake', '--config', join(dir.path, 'missing.yaml')], base, 78, /cannot read the coordinator config/],
        // A typo in sudo.classes would grant nothing and say nothing: refused, naming the known classes.
        [['--providers', 'fake', '--config', sudoTypo], base, 78, /^crabbox: sudo\.classes: unknown class "standrad"/],
      ];
      for (const [args, env, code, message] of cases) {
        const res = await runBin(['coordinator', 'serve', '--port', '0', ...args], { env, timeoutMs: 30_000 });
        assert.equal(res.code, code, `${args.join(' ')}: ${res.stderr}`);
        assert.match(res.stderr, message);
        assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr);
      }
    } finally {
      dir.remove();
    }
  });
});
