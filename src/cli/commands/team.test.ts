import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { serve } from '@hono/node-server';
import { parse } from 'yaml';
import { harness, PUBLIC_KEY, SHARED_TOKEN, type Harness } from '../../coordinator/testkit.ts';
import { poolConfig } from '../../coordinator/pool/config.ts';
import { ManualClock } from '../../domain/clock.ts';
import { ExitCode } from '../../domain/exit-codes.ts';
import { runCli } from '../../testing/cli.ts';
import { isolatedEnv, tempDir } from '../../testing/tmp.ts';
import { formatDetail } from './events.ts';

// The CLI against the coordinator app on a loopback port (fake provider, real SQLite), in brokered mode.
const dir = tempDir('crabbox-team-cli-');
let h: Harness;
let server: ReturnType<typeof serve>;
let url = '';
const tokens: Record<string, string> = {};
let homes = 0;

const envFor = (who: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv =>
  isolatedEnv(join(dir.path, `${who}-${++homes}`), { CRABBOX_COORDINATOR: url, CRABBOX_COORDINATOR_TOKEN: tokens[who], ...extra });
const as = (who: string, argv: string[], extra: NodeJS.ProcessEnv = {}) => runCli(argv, { env: envFor(who, extra), cwd: dir.path, clock: h.clock });
const lease = async (who: string, body: Record<string, unknown> = {}): Promise<{ id: string; slug: string }> => {
  const res = await h.request('POST', '/v1/leases', { token: tokens[who], body: { sshPublicKey: PUBLIC_KEY, ...body } });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  return res.json.lease;
};
const oneLine = (stderr: string): void => assert.equal(stderr.trim().split('\n').length, 1, stderr);

describe('team commands against a coordinator', () => {
  before(async () => {
    // An operator cap below the CLI's own 24h, so the coordinator's refusal is what the CLI has to translate.
    h = await harness({ config: { lease: { maxTtlSeconds: 3 * 3600 }, pools: [poolConfig({ name: 'warm', provider: 'fake', class: 'standard', min: 0, max: 2 })] } as never });
    server = await new Promise((resolve) => {
      const s = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (const who of ['root', 'keeper', 'dana']) tokens[who] = await h.userToken(who, { expiresInSeconds: 2 * 3600 });
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await h.close();
    dir.remove();
  });

  it('a TTL or idle timeout the coordinator refuses is reported in flag names, not body fields', async () => {
    const ttl = await as('dana', ['warmup', '--ttl', '4h']);
    assert.equal(ttl.code, ExitCode.usage, ttl.stderr);
    assert.equal(ttl.stderr, "crabbox: --ttl 4h is out of range; allowed 1m to 3h (the coordinator's limit)\n");
    const { id } = await lease('dana', { ttlSeconds: 3600 });
    const idle = await as('dana', ['heartbeat', id, '--idle-timeout', '2h']);
    assert.equal(idle.code, ExitCode.usage, idle.stderr);
    assert.equal(idle.stderr, "crabbox: --idle-timeout 2h is longer than the lease's TTL (1h); allowed 1m to 1h (the coordinator's limit)\n");
    assert.doesNotMatch(ttl.stderr + idle.stderr, /ttlSeconds|idleTimeoutSeconds|Too (small|big)/);
    const zero = await as('dana', ['heartbeat', id, '--idle-timeout', '0']);
    assert.equal(zero.code, ExitCode.usage);
    assert.equal(zero.stderr, 'crabbox: --idle-timeout 0s is out of range; allowed 1m to 24h\n');
    assert.equal((await h.store.getLease(id))?.idleTimeoutSeconds, 1800, 'nothing was changed');
    const ok = await as('dana', ['heartbeat', id, '--idle-timeout', '1h', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).idleTimeoutSeconds, 3600);
  });

  it('stop takes several leases: each is reported, the exit code is the worst', async () => {
    const a = await lease('dana');
    const b = await lease('dana');
    const res = await as('dana', ['stop', a.slug, 'gone-lobster', b.id]);
    assert.equal(res.code, ExitCode.notFound, res.stderr);
    assert.equal(res.stdout, `released ${a.id} (${a.slug})\nreleased ${b.id} (${b.slug})\n`);
    assert.match(res.stderr, /^crabbox: gone-lobster: /);
    oneLine(res.stderr);
    for (const l of [a, b]) assert.equal((await h.store.getLease(l.id))?.state, 'released');
    const again = await as('dana', ['stop', a.id, b.id, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout), { schema: 'crabbox.stop-many/v1', results: [{ id: a.id, slug: a.slug, result: 'already-gone' }, { id: b.id, slug: b.slug, result: 'already-gone' }] });
    const hostile = await as('dana', ['stop', a.id, '../x']);
    assert.equal(hostile.code, ExitCode.usage, 'a hostile ref is refused before anything runs');
  });

  it('a lease used from a machine that did not lease it says where its key is, not "the box refused the key"', async () => {
    const { id, slug } = await lease('dana');
    const res = await as('dana', ['ssh', slug, '--', 'true']);
    assert.equal(res.code, ExitCode.noPermission, res.stderr);
    assert.match(res.stderr, new RegExp(`^crabbox: lease ${id} \\(${slug}\\) was leased from another machine: its ssh key lives only there .*; use it from the machine that leased it`));
    oneLine(res.stderr);
    assert.doesNotMatch(res.stderr, /refused the lease key/);
  });

  it('whoami says how long the token really has left', async () => {
    const res = await as('dana', ['whoami']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^expires {5}\S+ \(in 2h\)$/m);
    const later = await runCli(['whoami'], { env: envFor('dana'), cwd: dir.path, clock: new ManualClock(h.clock.now() + 90 * 60_000) });
    assert.match(later.stdout, /\(in 30m\)$/m);
  });

  it('pool shows maintainers the warm pools (machines by state, claims of the last hour); others get one line and exit 77', async () => {
    const { id } = await lease('dana');
    const pool = await as('keeper', ['pool', '--json']);
    assert.equal(pool.code, 0, pool.stderr);
    const pools = JSON.parse(pool.stdout).pools as { name: string; provider: string; min: number; max: number; machines: Record<string, number>; claims: { lastHour: number } }[];
    assert.deepEqual(pools.map((p) => [p.name, p.provider, p.min, p.max, p.machines.idle, p.machines.assigned, p.claims.lastHour]), [['warm', 'fake', 0, 2, 0, 0, 0]]);
    assert.ok(!pool.stdout.includes(id) && !pool.stdout.includes('dana@example.com'), 'no lease and no owner in the pool view');
    assert.match((await as('keeper', ['pool'])).stdout, /^POOL\s+PROVIDER\s+CLASS\s+IDLE.*\nwarm\s+fake\s+standard\s+0\s+0\s+0\s+0\s+0\s+2\s+0/m);
    const refused = await as('dana', ['pool']);
    assert.equal(refused.code, ExitCode.noPermission);
    assert.match(refused.stderr, /^crabbox: `crabbox pool` is only for coordinator maintainers and admins/);
    oneLine(refused.stderr);
  });

  it('usage --all and --owner give admins the team-wide report; others get exit 77; a month before 1970 is refused', async () => {
    await lease('keeper');
    const all = await as('root', ['usage', '--all', '--json']);
    assert.equal(all.code, 0, all.stderr);
    const parsed = JSON.parse(all.stdout) as { by: string; owner: string; rows: { key: string }[] };
    assert.equal(parsed.by, 'owner');
    assert.equal(parsed.owner, 'everyone');
    assert.deepEqual(parsed.rows.map((r) => r.key).sort(), ['dana@example.com', 'keeper@example.com']);
    const one = await as('root', ['usage', '--owner', 'keeper@example.com', '--by', 'owner', '--json']);
    assert.deepEqual((JSON.parse(one.stdout) as { rows: { key: string }[] }).rows.map((r) => r.key), ['keeper@example.com']);
    const text = await as('root', ['usage', '--all']);
    assert.match(text.stdout, /^usage for \d{4}-\d\d \(everyone\)\nOWNER +LEASES/);
    const refused = await as('dana', ['usage', '--all']);
    assert.equal(refused.code, ExitCode.noPermission);
    assert.match(refused.stderr, /^crabbox: `crabbox usage --all` is only for coordinator admins/);
    const old = await as('dana', ['usage', '--month', '0050-03']);
    assert.equal(old.code, ExitCode.usage);
    assert.match(old.stderr, /--month "0050-03": expected a month from 1970-01 on/);
  });

  it('events show their details as key=value, not raw JSON', async () => {
    const { id } = await lease('dana', { keep: true });
    const res = await as('dana', ['events', '--lease', id]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /lease\.created .*provider=fake ttlSeconds=5400 keep=true reservedCost=/);
    assert.doesNotMatch(res.stdout, /[{}"]/);
    assert.equal(formatDetail({ reason: 'drained', note: 'two words', list: ['a', 'b'], n: 3, nested: { k: 'v' }, gone: null }), 'reason=drained note="two words" list=a,b n=3 nested=k:v');
  });

  it('drain says "1 live lease", not "1 live leases"', async () => {
    const leases = (await h.request('GET', '/v1/admin/leases?state=live', { token: tokens.root })).json.leases as { id: string }[];
    for (const l of leases) await h.request('POST', `/v1/admin/leases/${l.id}/release`, { token: tokens.root, body: {} });
    await lease('dana');
    assert.equal((await as('root', ['admin', 'drain'])).stdout, 'draining: new leases are refused; released 1 live lease\n');
    assert.equal((await as('root', ['admin', 'drain', '--off'])).code, 0);
  });

  it('the shared token without an owner header gets a hint about that header', async () => {
    const res = await h.request('GET', '/v1/whoami', { token: SHARED_TOKEN });
    assert.equal(res.status, 401);
    assert.match(res.json.hint, /X-Crabbox-Owner/);
    assert.doesNotMatch(res.json.hint, /configure a coordinator token/);
  });

  it('logout removes the URL too, so lease commands run in direct mode; --keep-url keeps it and says so', async () => {
    const env = isolatedEnv(join(dir.path, `logout-${++homes}`), { CRABBOX_OWNER: 'ci-bot' });
    const login = await runCli(['login', '--url', url, '--token-stdin'], { env, cwd: dir.path, stdin: `${SHARED_TOKEN}\n`, clock: h.clock });
    assert.equal(login.code, 0, login.stderr);
    const out = await runCli(['logout'], { env, cwd: dir.path });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, new RegExp(`Logged out: removed the coordinator token and the coordinator URL ${url.replace(/\./g, '\\.')} from .*config\\.yaml\\nLease commands now run in direct mode`));
    const configFile = join(env.XDG_CONFIG_HOME!, 'crabbox', 'config.yaml');
    assert.equal(parse(readFileSync(configFile, 'utf8'))?.coordinator, undefined);
    const list = await runCli(['list'], { env, cwd: dir.path });
    assert.equal(list.code, 0, `direct mode after logout: ${list.stderr}`);

    await runCli(['login', '--url', url, '--token-stdin'], { env, cwd: dir.path, stdin: `${SHARED_TOKEN}\n`, clock: h.clock });
    const keep = await runCli(['logout', '--keep-url', '--json'], { env, cwd: dir.path });
    assert.deepEqual(JSON.parse(keep.stdout), { schema: 'crabbox.logout/v1', removed: true, urlRemoved: null, config: configFile, mode: 'brokered' });
    const stuck = await runCli(['list'], { env, cwd: dir.path });
    assert.equal(stuck.code, ExitCode.noPermission);
    assert.match(stuck.stderr, /no token for the coordinator at .*`crabbox logout` removes the URL to go back to direct mode/);
    assert.equal((await runCli(['logout'], { env, cwd: dir.path })).code, 0);
    assert.equal((await runCli(['list'], { env, cwd: dir.path })).code, 0);
  });
});

describe('"no coordinator configured" is exit 78 for every command that needs one', () => {
  const root = tempDir('crabbox-nocoord-');
  after(() => root.remove());
  const cases: [string[], string?][] = [[['whoami']], [['login', '--token-stdin'], 'token-0123456789abcdef\n'], [['login', '--no-browser']], [['usage']], [['usage', '--all']], [['events']], [['admin', 'leases']], [['pool']]];
  for (const [argv, stdin] of cases) {
    it(argv.join(' '), async () => {
      const res = await runCli(argv, { env: isolatedEnv(root.path), cwd: root.path, stdin: stdin ?? '' });
      assert.equal(res.code, ExitCode.config, res.stderr);
      assert.match(res.stderr, /no coordinator configured|needs a coordinator/);
      oneLine(res.stderr);
    });
  }
});

describe('a coordinator that is down', () => {
  it('names the cause (ECONNREFUSED and the address) and is exit 69', async () => {
    const root = tempDir('crabbox-down-');
    try {
      const closed = await new Promise<number>((resolve) => {
        const s = serve({ fetch: () => new Response(''), hostname: '127.0.0.1', port: 0 }, () => {
          const port = (s.address() as AddressInfo).port;
          s.close(() => resolve(port));
        });
      });
      const res = await runCli(['list'], { env: isolatedEnv(root.path, { CRABBOX_COORDINATOR: `http://127.0.0.1:${closed}`, CRABBOX_COORDINATOR_TOKEN: 'token-0123456789abcdef' }), cwd: root.path });
      assert.equal(res.code, ExitCode.unavailable);
      assert.equal(res.stderr, `crabbox: cannot reach the coordinator at http://127.0.0.1:${closed}: ECONNREFUSED 127.0.0.1:${closed}; is it running? check the URL and your network\n`);
      assert.doesNotMatch(res.stderr, /fetch failed/);
      const doctor = await runCli(['doctor', '--json'], { env: isolatedEnv(root.path, { CRABBOX_COORDINATOR: `http://127.0.0.1:${closed}`, CRABBOX_COORDINATOR_TOKEN: 'token-0123456789abcdef' }), cwd: root.path });
      const check = (JSON.parse(doctor.stdout) as { checks: { name: string; detail: string }[] }).checks.find((c) => c.name === 'coordinator');
      assert.equal(check?.detail, `cannot reach http://127.0.0.1:${closed}: ECONNREFUSED 127.0.0.1:${closed}`);
    } finally {
      root.remove();
    }
  });
});

