import { reconcilePool } from '../coordinator/pool/reconcile.ts';
import { ADMIN_PUBLIC_KEY } from '../coordinator/pool/testkit.ts';
import type { Harness } from '../coordinator/testkit.ts';
import { FakeMachineAccess } from '../machine-access/fake.ts';

/**
 * A month of team activity for dashboard tests and screenshots, made through the API as the CLI would make it (fake
 * provider, the harness's manual clock): alice (github-1001) and bob (github-1002) lease and release boxes on most days
 * of January 2026, run commands (one failing with JUnit failures and a coloured log, one still running), and hold live
 * leases at the end, on 2026-01-20 at 14:00 UTC. With a pool `warm` in the config (fake provider), it is filled and
 * alice's second lease is drawn from it.
 */
export const SEED_END = Date.UTC(2026, 0, 20, 14, 0);
const SEED_START = Date.UTC(2026, 0, 2, 9, 0);
const HOUR = 3_600_000;

export interface Seeded {
  tokens: Record<'alice' | 'bob', string>;
  /** alice's live leases, newest last. */
  aliceLeases: { id: string; slug: string }[];
  bobLease: { id: string; slug: string };
  failedRun: string;
  runningRun: string;
  okRun: string;
  bobRun: string;
}

export const FAILING_LOG = [
  '\x1b[1m> acme-api@2.3.0 test\x1b[22m',
  '> node --test',
  '',
  '\x1b[32m✔\x1b[39m parses a lease request \x1b[90m(1.2ms)\x1b[39m',
  '\x1b[32m✔\x1b[39m refuses a TTL over the cap \x1b[90m(0.8ms)\x1b[39m',
  '\x1b[31m✖\x1b[39m bills by the second \x1b[90m(3.4ms)\x1b[39m',
  '  AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:',
  '  \x1b[32m+ actual\x1b[39m \x1b[31m- expected\x1b[39m',
  '  \x1b[32m+ 0.0138\x1b[39m',
  '  \x1b[31m- 0.0139\x1b[39m',
  '\x1b[31m✖\x1b[39m rounds the reserved cost \x1b[90m(0.5ms)\x1b[39m',
  'ℹ tests 118',
  'ℹ pass 116',
  '\x1b[31mℹ fail 2\x1b[39m',
  '',
].join('\n');

export const FAILING_JUNIT = {
  tests: 118, passed: 116, failures: 2, errors: 0, skipped: 0, time: 4.21,
  files: [{ path: 'reports/junit.xml', status: 'ok', tests: 118, passed: 116, failures: 2, errors: 0, skipped: 0, time: 4.21 }],
  failed: [
    { kind: 'failure', suite: 'billing', name: 'bills by the second', classname: 'billing', file: 'test/billing.test.js', line: 42, message: 'Expected values to be strictly equal: 0.0138 !== 0.0139', type: 'AssertionError', detail: 'AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:\n+ actual - expected\n+ 0.0138\n- 0.0139\n    at TestContext.<anonymous> (test/billing.test.js:42:12)' },
    { kind: 'failure', suite: 'billing', name: 'rounds the reserved cost', classname: 'billing', file: 'test/billing.test.js', line: 57, message: 'Expected 0.5 to equal 0.5001', type: 'AssertionError' },
  ],
  failedOmitted: 0, warnings: [],
};

export async function seedDashboard(h: Harness): Promise<Seeded> {
  if (h.clock.now() > SEED_START) throw new Error('seedDashboard needs a harness clock at or before 2026-01-02 09:00 UTC');
  h.clock.set(SEED_START);
  const tokens = {
    alice: await h.userToken('alice', { owner: 'github-1001', org: 'acme', expiresInSeconds: 40 * 86_400 }),
    bob: await h.userToken('bob', { owner: 'github-1002', org: 'acme', expiresInSeconds: 40 * 86_400 }),
  };
  const call = async (who: 'alice' | 'bob', method: string, path: string, body?: unknown) => {
    const res = await h.request(method, path, { token: tokens[who], body });
    if (res.status >= 300) throw new Error(`${method} ${path} as ${who}: ${res.status} ${JSON.stringify(res.json)}`);
    return res.json;
  };
  // Slugs come from 576 word pairs, so bob's live lease may by chance share a slug with one of alice's;
  // the isolation tests need his to be one she never had, so a colliding lease of his is given back and made again.
  const aliceSlugs = new Set<string>();
  const lease = async (who: 'alice' | 'bob', body: Record<string, unknown> = {}) => {
    const made = (await call(who, 'POST', '/v1/leases', { sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0c3RrZXlzdHVmZmZvcnRlc3RzMDEyMzQ1Njc4 t', ttlSeconds: 8 * 3600, idleTimeoutSeconds: 4 * 3600, ...body })).lease as { id: string; slug: string };
    if (who === 'alice') aliceSlugs.add(made.slug);
    return made;
  };
  const run = async (who: 'alice' | 'bob', leaseId: string, command: string, finish?: Record<string, unknown>) => {
    const { run: r } = await call(who, 'POST', '/v1/runs', { leaseId, command });
    if (finish) {
      // The run takes as long as its timings say.
      h.clock.advance(Number((finish.timings as { total?: number } | undefined)?.total ?? 0));
      await call(who, 'POST', `/v1/runs/${r.id}/finish`, finish);
    }
    return r.id as string;
  };

  // Past days: each works a few hours on a box, then gives it back.
  for (let day = 0; day < 18; day++) {
    const dayStart = SEED_START + day * 24 * HOUR;
    if (h.clock.now() < dayStart) h.clock.set(dayStart);
    const weekday = new Date(dayStart).getUTCDay();
    if (weekday === 0 || weekday === 6) continue;
    for (const who of ['alice', 'bob'] as const) {
      if (who === 'bob' && day % 3 === 1) continue;
      const l = await lease(who, { class: who === 'alice' ? 'standard' : 'large' });
      await run(who, l.id, 'npm test', { exitCode: 0, timings: { lease: 900, sync: 420, command: 38_000, total: 40_100 }, logTail: 'ℹ tests 118\nℹ pass 118\n' });
      h.clock.advance((who === 'alice' ? 2 : 3.5) * HOUR + day * 60_000);
      await call(who, 'POST', `/v1/leases/${l.id}/release`);
    }
  }

  h.clock.set(SEED_END - 3 * HOUR);
  const bobsLiveLease = async () => {
    const l = await lease('bob', { class: 'large' });
    const r = await run('bob', l.id, 'make check', { exitCode: 0, timings: { lease: 1100, sync: 800, command: 95_000, total: 97_200 }, logTail: 'all checks passed\n' });
    return { lease: l, run: r };
  };
  let bobs = await bobsLiveLease();
  h.clock.set(SEED_END - 2 * HOUR);
  const first = await lease('alice', { class: 'standard' });
  const okRun = await run('alice', first.id, 'npm run lint', { exitCode: 0, timings: { lease: 850, wait: 1200, sync: 380, command: 12_400, release: 0, total: 14_900 }, logTail: '\x1b[32m✔ no problems\x1b[39m\n' });
  h.clock.set(SEED_END - 40 * 60_000 - 5_400);
  const failedRun = await run('alice', first.id, 'npm test -- --reporter=junit', {
    exitCode: 1, remoteExitCode: 1, timings: { lease: 0, sync: 640, command: 4_600, total: 5_400 }, logTail: FAILING_LOG, junit: FAILING_JUNIT,
    artifacts: { dir: '.crabbox/artifacts/run_failed', files: 2, bytes: 18_204, paths: ['coverage/lcov.info', 'test-results/<billing>.xml'], omitted: 0, skipped: 1 },
  });
  h.clock.set(SEED_END - 25 * 60_000);
  const pooled = h.deps.config.pools.some((p) => p.name === 'warm');
  if (pooled) {
    h.deps.access = { fake: new FakeMachineAccess() };
    h.deps.adminPublicKey = ADMIN_PUBLIC_KEY;
    await reconcilePool(h.deps);
  }
  const second = await lease('alice', pooled ? { pool: 'warm' } : { class: 'large' });
  if (pooled) await reconcilePool(h.deps);
  h.clock.set(SEED_END - 3 * 60_000);
  const runningRun = await run('alice', second.id, 'npm run e2e');
  while (aliceSlugs.has(bobs.lease.slug)) {
    h.clock.set(SEED_END - 2 * 60_000);
    await call('bob', 'POST', `/v1/leases/${bobs.lease.id}/release`);
    bobs = await bobsLiveLease();
  }
  h.clock.set(SEED_END);
  return { tokens, aliceLeases: [first, second], bobLease: bobs.lease, failedRun, runningRun, okRun, bobRun: bobs.run };
}
