import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../testing/cli.ts';
import { isolatedEnv, tempDir } from '../testing/tmp.ts';
import { systemClock } from '../domain/clock.ts';
import { leaseSession } from './session.ts';
import type { SessionContext } from './session.ts';

const dir = tempDir('crabbox-session-');
after(() => dir.remove());

const ctxFor = (env: NodeJS.ProcessEnv): SessionContext => ({ env, cwd: dir.path, clock: systemClock, debug: () => undefined, warn: () => undefined });

/** A server that accepts connections and never answers: a hung coordinator. */
async function hungServer(): Promise<{ url: string; server: Server; requests: () => number }> {
  let requests = 0;
  const server = createServer(() => void requests++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, requests: () => requests };
}

describe('mode selection', () => {
  it('picks direct mode without a coordinator and brokered mode with one, in one place', async () => {
    const direct = await leaseSession(ctxFor(isolatedEnv(join(dir.path, 'direct'))));
    assert.equal(direct.leases.mode, 'direct');
    assert.equal(direct.coordinator, undefined);
    const brokered = await leaseSession(ctxFor(isolatedEnv(join(dir.path, 'brokered'), { CRABBOX_COORDINATOR: 'http://127.0.0.1:9', CRABBOX_COORDINATOR_TOKEN: 'a-token-for-the-test-000' })));
    assert.equal(brokered.leases.mode, 'brokered');
    assert.equal(brokered.coordinator?.url, 'http://127.0.0.1:9');
  });

  it('a coordinator without a token, one that is down, and one that hangs each give one line, in bounded time', async () => {
    const base = isolatedEnv(join(dir.path, 'errors'));
    const noToken = await runCli(['list'], { env: { ...base, CRABBOX_COORDINATOR: 'http://127.0.0.1:9' }, cwd: dir.path });
    assert.equal(noToken.code, 77);
    assert.match(noToken.stderr, /^crabbox: no token for the coordinator at http:\/\/127\.0\.0\.1:9; run `crabbox login`/);
    const closed = await hungServer();
    closed.server.close();
    const down = await runCli(['status', 'cbx_0123456789ab'], { env: { ...base, CRABBOX_COORDINATOR: closed.url, CRABBOX_COORDINATOR_TOKEN: 'a-token-for-the-test-000' }, cwd: dir.path });
    assert.equal(down.code, 69);
    assert.equal(down.stderr.trim().split('\n').length, 1, down.stderr);
    assert.match(down.stderr, /^crabbox: cannot reach the coordinator at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
    const hung = await hungServer();
    try {
      const slow = await runCli(['list'], { env: { ...base, CRABBOX_COORDINATOR: hung.url, CRABBOX_COORDINATOR_TOKEN: 'a-token-for-the-test-000', CRABBOX_COORDINATOR_TIMEOUT: '1s' }, cwd: dir.path });
      assert.equal(slow.code, 75);
      assert.match(slow.stderr, /^crabbox: the coordinator at http:\/\/127\.0\.0\.1:\d+ did not answer within 1s/);
      assert.equal(slow.stderr.trim().split('\n').length, 1, slow.stderr);
      assert.equal(hung.requests(), 1, 'a timed-out request is not retried');
    } finally {
      hung.server.closeAllConnections();
      hung.server.close();
    }
    const badTimeout = await runCli(['list'], { env: { ...base, CRABBOX_COORDINATOR: 'http://127.0.0.1:9', CRABBOX_COORDINATOR_TOKEN: 'a-token-for-the-test-000', CRABBOX_COORDINATOR_TIMEOUT: '0s' }, cwd: dir.path });
    assert.equal(badTimeout.code, 78);
  });

  it('commands that need a coordinator say so in one line; brokered cleanup cleans only local keys', async () => {
    const base = isolatedEnv(join(dir.path, 'needs'));
    for (const argv of [['usage'], ['events'], ['admin', 'leases'], ['admin', 'drain']]) {
      const r = await runCli(argv, { env: base, cwd: dir.path });
      assert.equal(r.code, 78, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /needs a coordinator/);
    }
    // Brokered cleanup only cleans this machine's keys; with none to check it does not even ask the coordinator.
    const brokered = { ...base, CRABBOX_COORDINATOR: 'http://127.0.0.1:9', CRABBOX_COORDINATOR_TOKEN: 'a-token-for-the-test-000' };
    const cleanup = await runCli(['cleanup'], { env: brokered, cwd: dir.path });
    assert.equal(cleanup.code, 0, cleanup.stderr);
    assert.equal(cleanup.stdout, '0 key folders removed; the coordinator at http://127.0.0.1:9 deletes expired boxes itself\n');
    // With a key folder to check, an unreachable coordinator is one line and exit 69: nothing is removed unproven.
    const keys = join(base.XDG_STATE_HOME!, 'crabbox', 'leases', 'cbx_00000000dead');
    mkdirSync(keys, { recursive: true });
    writeFileSync(join(keys, 'coordinator.json'), JSON.stringify({ url: 'http://127.0.0.1:9' }));
    const down = await runCli(['cleanup'], { env: brokered, cwd: dir.path });
    assert.equal(down.code, 69, down.stderr);
    assert.equal(down.stderr.trim().split('\n').length, 1, down.stderr);
    assert.ok(existsSync(keys));
    const del = await runCli(['admin', 'delete', 'cbx_0123456789ab'], { env: { ...base, CRABBOX_COORDINATOR: 'http://127.0.0.1:9', CRABBOX_COORDINATOR_TOKEN: 'a-token-for-the-test-000' }, cwd: dir.path });
    assert.equal(del.code, 64);
    assert.match(del.stderr, /pass --force/);
    const bad = await runCli(['usage', '--by', 'color'], { env: base, cwd: dir.path });
    assert.equal(bad.code, 64);
  });
});
