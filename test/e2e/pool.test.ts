// Warm pool end to end: a real coordinator process (SQLite, a local pool of private sshds as root) and the real CLI.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBin, type CliResult } from '../../src/testing/cli.ts';
import { initRepo } from '../../src/testing/git.ts';
import { startServe, type ServeProcess } from '../../src/testing/serve.ts';
import { isolatedEnv, tempDir } from '../../src/testing/tmp.ts';
import { until } from '../../src/testing/until.ts';
import { removeCoordinatorBoxes } from '../../src/testing/leftovers.ts';

if (process.getuid?.() !== 0) throw new Error('the warm pool e2e test needs root (a local pool gives each lease its own Unix user); run the suite as root, as CI does');

const SHARED = 'pool-e2e-shared-token-0123456789';
const tmp = tempDir('crabbox-e2e-pool-');
const repo = join(tmp.path, 'repo');
let coordinator: ServeProcess;

const configFile = join(tmp.path, 'coordinator.yaml');
writeFileSync(configFile, 'sharedTokenRole: maintainer\nsweepInterval: 2s\npools:\n  local-small: { provider: local, min: 2, max: 3 }\n');

function env(): NodeJS.ProcessEnv {
  return isolatedEnv(join(tmp.path, 'user'), { CRABBOX_COORDINATOR: coordinator.url, CRABBOX_COORDINATOR_TOKEN: SHARED, CRABBOX_OWNER: 'keeper@example.com' });
}
const cli = (argv: string[]): Promise<CliResult> => runBin(argv, { env: env(), cwd: repo, timeoutMs: 120_000 });

interface PoolView { name: string; machines: { idle: number; assigned: number; scrubbing: number }; claims: { lastHour: number; p50Ms?: number } }
async function poolView(): Promise<PoolView> {
  const r = await cli(['pool', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { pools: PoolView[] }).pools[0]!;
}
async function waitIdle(n: number): Promise<PoolView> {
  for (let i = 0; i < 150; i++) {
    const view = await poolView();
    if (view.machines.idle >= n) return view;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the pool never had ${n} idle machines: ${coordinator.stderr()}`);
}

describe('warm pool: warmup --pool, run --pool and crabbox pool through a real coordinator', () => {
  before(async () => {
    initRepo(repo, { 'hello.txt': 'hello from the checkout\n' });
    coordinator = await startServe(
      isolatedEnv(join(tmp.path, 'coord'), { CRABBOX_SHARED_TOKEN: SHARED, CRABBOX_COORDINATOR_CONFIG: configFile }),
      ['--db', join(tmp.path, 'coordinator.sqlite'), '--providers', 'local'],
    );
  });

  after(async () => {
    await coordinator?.stop();
    // Pool machines outlive the coordinator process by design; the test removes its own (and proves they are gone).
    const mine = await removeCoordinatorBoxes(join(tmp.path, 'coord', 'state', 'crabbox', 'coordinator'), tmp.path);
    tmp.remove();
    assert.deepEqual(mine, [], 'no pool box of this test is left');
  });

  it('fills the pool; warmup --pool gets a box as its own user; stop scrubs it back; run --pool runs on one', async () => {
    await waitIdle(2);
    const warm = await cli(['warmup', '--pool', '--json']);
    assert.equal(warm.code, 0, warm.stderr);
    const lease = JSON.parse(warm.stdout) as { id: string; slug: string };
    const who = await cli(['run', '--id', lease.slug, '--no-sync', '--', 'sh', '-c', 'id -un; pwd']);
    assert.equal(who.code, 0, who.stderr);
    assert.equal(who.stdout.split('\n')[0], `cbx-${lease.id.slice(4)}`, 'the lease logs in as its own user');
    const busy = await poolView();
    assert.equal(busy.machines.assigned, 1);
    assert.equal(busy.claims.lastHour, 1);
    assert.equal(typeof busy.claims.p50Ms, 'number');

    const stop = await cli(['stop', lease.slug]);
    assert.equal(stop.code, 0, stop.stderr);
    const back = await waitIdle(2);
    assert.equal(back.machines.assigned, 0);

    const run = await cli(['run', '--pool', '--', 'cat', 'hello.txt']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'hello from the checkout\n');
    // The run's release is answered before its machine's scrub ends (decision 0064): the table once that is done.
    await until(async () => (await poolView()).machines.scrubbing === 0, 'the run\'s machine scrubbed');
    const table = await cli(['pool']);
    assert.match(table.stdout, /^local-small\s+local\s+-\s+\d\s+0\s+\d\s+0\s+2\s+3\s+2\s+\d+ms/m);
  });

  it('--pool with --id, a bad pool name, and an unknown pool are one line each', async () => {
    const both = await cli(['run', '--pool', '--id', 'x', '--', 'true']);
    assert.equal(both.code, 64);
    assert.match(both.stderr, /^crabbox: --pool only applies to a fresh lease/);
    const bad = await cli(['warmup', '--pool', 'Not_A_Pool']);
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /^crabbox: --pool "Not_A_Pool": expected a pool name/);
    const unknown = await cli(['warmup', '--pool', 'nope']);
    assert.equal(unknown.code, 64, unknown.stderr);
    assert.match(unknown.stderr, /no warm pool named "nope" on this coordinator/);
  });

  it('--pool without a coordinator exits 78', async () => {
    const r = await runBin(['warmup', '--pool'], { env: isolatedEnv(join(tmp.path, 'direct')), cwd: repo });
    assert.equal(r.code, 78);
    assert.match(r.stderr, /^crabbox: --pool needs a coordinator: warm pools live there/);
  });
});
