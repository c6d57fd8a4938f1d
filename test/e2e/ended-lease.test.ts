// Issue 11 item 9: a lease that expired and was swept is reported as "expired at T" (exit 75), not "no lease" (66),
// in direct mode (real local provider, built CLI, its clock moved with CRABBOX_CLOCK_OFFSET) and brokered mode (the
// real CLI against a coordinator whose clock the test moves and whose sweeper deleted the machine).
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { getRequestListener } from '@hono/node-server';
import { runBin, runCli } from '../../src/testing/cli.ts';
import { isolatedEnv, tempDir } from '../../src/testing/tmp.ts';
import { leaseLeftovers } from '../../src/testing/leftovers.ts';
import { ExitCode } from '../../src/domain/exit-codes.ts';
import { harness, PUBLIC_KEY } from '../../src/coordinator/testkit.ts';
import { sweep } from '../../src/coordinator/sweeper.ts';

const json = (text: string): Record<string, unknown> => JSON.parse(text) as Record<string, unknown>;
const lines = (stderr: string) => stderr.trim().split('\n');

describe('an expired, swept lease in direct mode (local provider)', () => {
  const root = mkdtempSync('/tmp/crabbox-e2e-ended-');
  const env = isolatedEnv(root);
  const stateDir = join(root, 'state', 'crabbox');
  after(() => rmSync(root, { recursive: true, force: true }));

  it('says "expired at T" (75) by id and by slug after the sweep deleted it; after a week it is unknown (66)', async () => {
    const warm = await runBin(['warmup', '--json', '--ttl', '1h', '--idle-timeout', '10m'], { env });
    assert.equal(warm.code, 0, warm.stderr);
    const { id, slug, expiresAt } = json(warm.stdout) as { id: string; slug: string; expiresAt: string };
    const later = { ...env, CRABBOX_CLOCK_OFFSET: '2h' };
    // The next command's sweep deletes the expired box, its keys and its index entry.
    const swept = await runBin(['list', '--json'], { env: later });
    assert.equal(swept.code, 0, swept.stderr);
    assert.deepEqual(leaseLeftovers({ stateDir, leaseId: id }), []);
    assert.deepEqual(readdirSync(join(stateDir, 'tombstones')), [`${id}.json`]);

    for (const argv of [['ssh', id, '--', 'true'], ['heartbeat', slug], ['status', id, '--wait'], ['run', '--id', slug, '--', 'true']]) {
      const r = await runBin(argv, { env: later });
      assert.equal(r.code, ExitCode.tempFail, `${argv.join(' ')}: ${r.stderr}`);
      // `run` also prints its summary line; the error is one line of its own.
      assert.ok(lines(r.stderr).includes(`crabbox: lease ${id} (${slug}) expired at ${expiresAt}; lease a new box (\`crabbox warmup\`, or \`crabbox run\` without --id)`), `${argv.join(' ')}: ${r.stderr}`);
    }
    const status = await runBin(['status', slug, '--json'], { env: later });
    assert.equal(status.code, 0, status.stderr);
    assert.deepEqual([json(status.stdout).id, json(status.stdout).state, json(status.stdout).machine], [id, 'expired', null]);
    const stop = await runBin(['stop', slug, '--json'], { env: later });
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(json(stop.stdout).result, 'already-gone');

    // A week later the tombstone is pruned by the sweep, and the lease is simply unknown.
    const weekLater = { ...env, CRABBOX_CLOCK_OFFSET: '170h' };
    assert.equal((await runBin(['cleanup'], { env: weekLater })).code, 0);
    assert.deepEqual(readdirSync(join(stateDir, 'tombstones')), []);
    const gone = await runBin(['ssh', id, '--', 'true'], { env: weekLater });
    assert.equal(gone.code, ExitCode.notFound, gone.stderr);
    assert.match(gone.stderr, new RegExp(`no lease ${id}`));
  });
});

describe('an expired, swept lease in brokered mode (coordinator)', () => {
  it('says "expired at T" (75) by id and by slug, the same words as direct mode', async () => {
    const dir = tempDir('crabbox-e2e-ended-brokered-');
    const h = await harness();
    let listener: ReturnType<typeof getRequestListener> | undefined;
    const server: Server = createServer((req, res) => void listener!(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    listener = getRequestListener(h.app.fetch);
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const token = await h.userToken('alice', { expiresInSeconds: 86_400 });
      const env = isolatedEnv(dir.path, { CRABBOX_COORDINATOR: url, CRABBOX_COORDINATOR_TOKEN: token });
      const lease = (await h.request('POST', '/v1/leases', { token, body: { sshPublicKey: PUBLIC_KEY, ttlSeconds: 3600, idleTimeoutSeconds: 600 } })).json.lease;
      h.clock.advance(11 * 60_000);
      const swept = await sweep(h.deps);
      assert.deepEqual([swept.expired, swept.deleted], [1, 1]);
      assert.equal(h.provider.machines.size, 0, 'the machine is gone');
      const expiresAt = lease.expiresAt.replace(/\.\d{3}Z$/, 'Z');
      for (const argv of [['ssh', lease.id, '--', 'true'], ['heartbeat', lease.slug], ['status', lease.slug, '--wait']]) {
        const r = await runCli(argv, { env });
        assert.equal(r.code, ExitCode.tempFail, `${argv.join(' ')}: ${r.stderr}`);
        assert.deepEqual(lines(r.stderr), [`crabbox: lease ${lease.id} (${lease.slug}) expired at ${expiresAt}; lease a new box (\`crabbox warmup\`, or \`crabbox run\` without --id)`], argv.join(' '));
      }
      for (const ref of [lease.id, lease.slug]) {
        const status = await runCli(['status', ref, '--json'], { env });
        assert.equal(status.code, 0, status.stderr);
        assert.equal(json(status.stdout).state, 'expired', ref);
      }
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await h.close();
      dir.remove();
    }
  });
});
