// A brokered CLI killed with -9 during and after a create: the private keys it leaves on this machine are removed by
// the next command (or `crabbox cleanup`) once they are provably useless; keys of live leases stay. Real coordinator
// process (SQLite, local provider), real CLI processes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, runBin, type CliResult } from '../../src/testing/cli.ts';
import { isolatedEnv, tempDir } from '../../src/testing/tmp.ts';
import { startServe, type ServeProcess } from '../../src/testing/serve.ts';
import { until } from '../../src/testing/until.ts';

const SHARED = 'brokered-crash-shared-token-0123456789';
const SECRET = 'brokered-crash-session-secret-0123456789abcdef';

const tmp = tempDir('crabbox-e2e-brokered-crash-');
const coordConfig = join(tmp.path, 'coordinator.yaml');
writeFileSync(coordConfig, 'admins: [root-admin]\n');
const coordEnv = isolatedEnv(join(tmp.path, 'coord'), { CRABBOX_SHARED_TOKEN: SHARED, CRABBOX_SESSION_SECRET: SECRET, CRABBOX_COORDINATOR_CONFIG: coordConfig });
const signals = mkdtempSync('/var/tmp/crabbox-brokered-crash-');
chmodSync(signals, 0o777);
let coordinator: ServeProcess;
const tokens: Record<string, string> = {};
const home = { alice: join(tmp.path, 'alice'), admin: join(tmp.path, 'admin') };
const keysDir = join(home.alice, 'state', 'crabbox', 'leases');

const envOf = (user: keyof typeof home, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv =>
  isolatedEnv(home[user], { CRABBOX_COORDINATOR: coordinator.url, CRABBOX_COORDINATOR_TOKEN: tokens[user], ...extra });
const cli = (user: keyof typeof home, argv: string[], extra: NodeJS.ProcessEnv = {}): Promise<CliResult> => runBin(argv, { env: envOf(user, extra), cwd: tmp.path });
const keyFolders = (): string[] => (existsSync(keysDir) ? readdirSync(keysDir).filter((n) => n.startsWith('cbx_') || n.startsWith('pending-')).sort() : []);

describe('brokered mode: keys left by a CLI killed with -9', () => {
  before(async () => {
    coordinator = await startServe(coordEnv, ['--db', join(tmp.path, 'coordinator.sqlite'), '--providers', 'local']);
    for (const [who, login] of [['alice', 'alice'], ['admin', 'root-admin']] as const) {
      const r = await runBin(['coordinator', 'issue-token', '--login', login, '--ttl', '1d'], { env: isolatedEnv(join(tmp.path, 'issuer'), { CRABBOX_SESSION_SECRET: SECRET }) });
      assert.equal(r.code, 0, r.stderr);
      tokens[who] = r.stdout.trim();
    }
  });

  after(async () => {
    // Every lease the test made (including one a killed create finished on the coordinator) is released by the admin.
    const all = await cli('admin', ['admin', 'leases', '--state', 'live', '--json']);
    if (all.code === 0) for (const l of (JSON.parse(all.stdout) as { leases: { id: string }[] }).leases) await cli('admin', ['admin', 'release', l.id]);
    await coordinator.stop();
    tmp.remove();
    rmSync(signals, { recursive: true, force: true });
  });

  it('a create killed midway leaves a pending key folder; it stays while a create could still be running, then the next command removes it', async () => {
    const child = spawn(process.execPath, [BIN, 'warmup'], { env: envOf('alice'), cwd: tmp.path, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    await until(() => keyFolders().some((n) => n.startsWith('pending-')), 'the create to make its pending key folder', 60_000, 2);
    child.kill('SIGKILL');
    await exited;
    const pending = keyFolders().filter((n) => n.startsWith('pending-'));
    assert.equal(pending.length, 1, keyFolders().join(','));

    // Within the create timeout another process's create could still be in flight: kept.
    const early = await cli('alice', ['list', '--json']);
    assert.equal(early.code, 0, early.stderr);
    assert.ok(keyFolders().includes(pending[0]!));
    // Past the 15-minute create timeout: the next command removes it.
    const late = await cli('alice', ['list', '--json', '--debug'], { CRABBOX_CLOCK_OFFSET: '20m' });
    assert.equal(late.code, 0, late.stderr);
    assert.ok(!keyFolders().includes(pending[0]!), `still there: ${keyFolders().join(',')}; ${late.stderr}`);
  });

  it('a run killed after its create keeps the live lease\'s key; once the lease is gone, cleanup shows it and the next command removes it', async () => {
    const started = join(signals, 'started');
    const before = keyFolders();
    const child = spawn(process.execPath, [BIN, 'run', '--no-sync', '--', 'sh', '-c', `touch ${started}; sleep 300`], { env: envOf('alice'), cwd: tmp.path, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    await until(() => existsSync(started), 'the remote command to start', 90_000, 20);
    child.kill('SIGKILL');
    await exited;
    const [leaseId] = keyFolders().filter((n) => !before.includes(n));
    assert.match(leaseId ?? '', /^cbx_[0-9a-f]{12}$/, keyFolders().join(','));

    // The lease is live: its key stays, through the opportunistic sweep and cleanup alike.
    const live = await cli('alice', ['list', '--json'], { CRABBOX_CLOCK_OFFSET: '30m' });
    assert.equal(live.code, 0, live.stderr);
    assert.ok(keyFolders().includes(leaseId!));
    const kept = await cli('alice', ['cleanup', '--json']);
    assert.equal(kept.code, 0, kept.stderr);
    assert.deepEqual(JSON.parse(kept.stdout).orphanKeys, []);
    assert.ok(keyFolders().includes(leaseId!));

    // Released elsewhere (an admin here): the key is now useless.
    const released = await cli('admin', ['admin', 'release', leaseId!]);
    assert.equal(released.code, 0, released.stderr);
    const dry = await cli('alice', ['cleanup', '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(JSON.parse(dry.stdout).orphanKeys, [leaseId]);
    assert.ok(keyFolders().includes(leaseId!), 'a dry run removes nothing');
    const next = await cli('alice', ['list', '--json'], { CRABBOX_CLOCK_OFFSET: '40m' });
    assert.equal(next.code, 0, next.stderr);
    assert.ok(!keyFolders().includes(leaseId!), `still there: ${keyFolders().join(',')}`);
  });
});
