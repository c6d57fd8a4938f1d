import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PUBLIC_KEY } from '../../coordinator/testkit.ts';
import { poolHarness, type PoolHarness } from '../../coordinator/pool/testkit.ts';
import { runCli } from '../../testing/cli.ts';
import { isolatedEnv, tempDir } from '../../testing/tmp.ts';

// `crabbox admin drain --pool` / `admin undrain --pool` against the coordinator app with one warm pool on a loopback port.
const dir = tempDir('crabbox-admin-pool-cli-');
let h: PoolHarness;
let server: ReturnType<typeof serve>;
let url = '';
const tokens: Record<string, string> = {};

const as = (who: string, argv: string[]) =>
  runCli(argv, { env: isolatedEnv(join(dir.path, who), { CRABBOX_COORDINATOR: url, CRABBOX_COORDINATOR_TOKEN: tokens[who] }), cwd: dir.path, clock: h.clock });

describe('admin drain --pool and undrain --pool', () => {
  before(async () => {
    h = await poolHarness({ pool: { min: 2 } });
    server = await new Promise((resolve) => {
      const s = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    tokens.root = await h.userToken('root');
    tokens.keeper = await h.maintainer();
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await h.close();
    dir.remove();
  });

  it('drains a pool (idle machines deleted, the busy one after its lease), shows it in `crabbox pool`, and undrains it', async () => {
    const [busy, free] = await h.fill();
    const { json } = await h.request('POST', '/v1/leases', { token: tokens.keeper, body: { sshPublicKey: PUBLIC_KEY, pool: true } });
    assert.equal(json.lease.machineId, busy);

    const drained = await as('root', ['admin', 'drain', '--pool', 'warm']);
    assert.equal(drained.code, 0, drained.stderr);
    assert.equal(drained.stdout, 'drained pool warm: no refills; 2 machines drained (idle ones deleted now, busy ones once their lease ends)\n');
    assert.equal((await h.store.getMachine(free!))?.state, 'deleted');
    assert.equal((await h.store.getMachine(busy!))?.state, 'draining');
    const again = await as('root', ['admin', 'drain', '--pool', 'warm', '--json']);
    assert.deepEqual(JSON.parse(again.stdout), { schema: 'crabbox.pool-drain/v1', pool: 'warm', draining: true, changed: 0 });
    const pool = await as('keeper', ['pool']);
    assert.match(pool.stdout, /drained: no refills until `crabbox admin undrain --pool`/);

    const undrained = await as('root', ['admin', 'undrain', '--pool', 'warm', '--json']);
    assert.deepEqual(JSON.parse(undrained.stdout), { schema: 'crabbox.pool-drain/v1', pool: 'warm', draining: false, changed: 1 });
    assert.equal((await h.store.getMachine(busy!))?.state, 'assigned', 'the busy machine went back to its lease');
    await h.request('POST', `/v1/leases/${json.lease.id}/release`, { token: tokens.keeper });
  });

  it('bad input is one line with exit 64; an unknown pool is 66; a maintainer gets 77 and nothing changes', async () => {
    for (const [argv, pattern] of [
      [['admin', 'drain', 'mch_ffffffffffff', '--pool', 'warm'], /give a machine or --pool, not both/],
      [['admin', 'undrain', 'mch_ffffffffffff', '--pool', 'warm'], /give a machine or --pool, not both/],
      [['admin', 'drain', '--pool', 'warm', '--off'], /--off ends the fleet drain; to undrain a pool run `crabbox admin undrain --pool <name>`/],
      [['admin', 'drain', '--pool', 'Not A Pool'], /--pool "Not A Pool": expected lowercase letters, digits and -, at most 32/],
    ] as const) {
      const r = await as('root', [...argv]);
      assert.equal(r.code, 64, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    const unknown = await as('root', ['admin', 'drain', '--pool', 'elsewhere']);
    assert.equal(unknown.code, 66, unknown.stderr);
    assert.match(unknown.stderr, /no warm pool elsewhere/);
    const refused = await as('keeper', ['admin', 'drain', '--pool', 'warm']);
    assert.equal(refused.code, 77, refused.stderr);
    assert.match(refused.stderr, /is only for coordinator admins/);
    assert.equal(await h.store.getMeta('pool-draining:warm') === '1', false, 'the refused drain marked nothing');
  });
});
