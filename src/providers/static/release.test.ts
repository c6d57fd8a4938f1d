// Finding 7 of the security audit (docs/security.md) and issue 11 item 1 for this provider: the ssh provider's
// release, attacked on a real static host (a fresh Unix user and sshd, as root).
import { describe, it, before, beforeEach, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createStaticProvider, keyMarker } from './static-provider.ts';
import { remote } from './remote.ts';
import { newLeaseId } from '../../domain/ids.ts';
import { isCrabboxError } from '../../domain/errors.ts';
import { ManualClock } from '../../domain/clock.ts';
import { createDirectLeaseService } from '../../leases/direct.ts';
import { isAlive } from '../local/procs.ts';
import { lookupUser } from '../local/users.ts';
import { tempDir } from '../../testing/tmp.ts';
import { localSpec } from '../../testing/local-lease.ts';
import { startStaticHost, type StaticHostFixture } from '../../testing/static-host.ts';

describe('finding 7: the ssh provider\'s release', { concurrency: false }, () => {
  const state = tempDir('crabbox-static-release-');
  let host: StaticHostFixture;
  // Each test has a work root (and so a claim) of its own: one test's failure never leaves the next one a claimed host.
  let roots = 0;
  let root = '';
  const work = (): string => join(host.home, root);
  const claim = (): string => join(work(), '.crabbox-claim');
  beforeEach(() => {
    root = `release-${++roots}`;
  });
  /** argv that runs a shell script as the host user (the account leases run as). */
  const hostUserSh = (script: string, args: string[] = []): string[] => {
    const ids = lookupUser(host.user)!;
    return ['setpriv', `--reuid=${ids.uid}`, `--regid=${ids.gid}`, '--clear-groups', '--', 'sh', '-c', script, 'sh', ...args];
  };
  const env = (): NodeJS.ProcessEnv => ({ PATH: '/usr/bin:/bin', HOME: host.home });
  const runAsHostUser = (script: string, args: string[] = [], cwd = host.home) => {
    const argv = hostUserSh(script, args);
    return spawnSync(argv[0]!, argv.slice(1), { cwd, env: env(), encoding: 'utf8' });
  };
  before(async () => {
    host = await startStaticHost();
  });
  after(async () => {
    await host.stop();
    state.remove();
  });
  const pool = () => createStaticProvider({ stateDir: state.path, hosts: [host.entry(host.ports[0]!, `~/${root}`)] });

  it('a lease dir swapped for a symlink to the home is unlinked, not followed: the host user\'s processes and files survive', async () => {
    const before = readFileSync(host.authorizedKeys);
    const provider = pool();
    const leaseId = newLeaseId();
    await provider.create(await localSpec(state.path, leaseId));
    // The host user's own work, in its home, that a release must never stop.
    const argv = hostUserSh('exec sleep 300');
    const bystander = spawn(argv[0]!, argv.slice(1), { cwd: host.home, env: env(), stdio: 'ignore' });
    try {
      // The lease (it runs as the host user) swaps its own dir for a symlink to the home.
      const swapped = runAsHostUser('rm -rf "$1" && ln -s "$HOME" "$1" && touch "$HOME/keep-me"', [join(work(), leaseId)]);
      assert.equal(swapped.status, 0, swapped.stderr);
      for (let i = 0; i < 50 && !isAlive(bystander.pid!); i++) await sleep(20);
      assert.equal(await provider.delete(leaseId), 'deleted');
      assert.ok(isAlive(bystander.pid!), 'a process of the host user outside the lease is left alone');
      assert.ok(existsSync(join(host.home, 'keep-me')), 'the home is untouched');
      assert.ok(!existsSync(join(work(), leaseId)), 'the link is gone');
      assert.ok(readFileSync(host.authorizedKeys).equals(before), 'the key line is gone');
      assert.ok(!existsSync(claim()), 'the claim is gone');
    } finally {
      bystander.kill('SIGKILL');
      rmSync(join(host.home, 'keep-me'), { force: true });
    }
  });

  it('never stops its own process tree, even when it runs inside the lease dir', async () => {
    const provider = pool();
    const leaseId = newLeaseId();
    const machine = await provider.create(await localSpec(state.path, leaseId));
    // The release script run by hand from inside the lease's work dir: its own shell's cwd is in the lease.
    const command = remote.release(work(), leaseId);
    const argv = hostUserSh(command);
    const r = spawnSync(argv[0]!, argv.slice(1), { cwd: machine.workRoot, env: env(), encoding: 'utf8' });
    assert.equal(r.status, 0, `release killed itself (signal ${r.signal}): ${String(r.stderr)}`);
    assert.match(String(r.stdout), /^found 1$/m);
    assert.ok(!existsSync(join(work(), leaseId)));
    assert.equal(await provider.delete(leaseId), 'already-gone');
  });

  it('a lease whose labels file is gone is still released by its claim: key line and claim are removed', async () => {
    const before = readFileSync(host.authorizedKeys);
    const provider = pool();
    const config = {
      owner: 'ada@example.com', org: 'local', coordinator: undefined,
      lease: { ttlSeconds: 3600, idleTimeoutSeconds: 1800, keep: false },
      ssh: { port: 22, fallbackPorts: [], connectTimeoutSeconds: 5 },
      paths: { userConfig: join(state.path, 'config.yaml'), stateDir: state.path },
    };
    const leases = createDirectLeaseService({ config, provider, clock: new ManualClock(Date.now()), waitReady: async () => undefined });
    const { lease } = await leases.create();
    rmSync(join(work(), lease.id, 'meta', 'labels.json'));
    const released = await leases.release(lease.id);
    assert.equal(released.result, 'released');
    assert.ok(!readFileSync(host.authorizedKeys, 'utf8').includes(keyMarker(lease.id)), 'the key line is gone');
    assert.ok(!existsSync(claim()), 'the claim is gone');
    assert.ok(readFileSync(host.authorizedKeys).equals(before));
  });

  it('a release while the create is in flight wins: no key line is added after it (issue 11)', async () => {
    const before = readFileSync(host.authorizedKeys);
    const provider = pool();
    const leaseId = newLeaseId();
    // onProviderId runs right after the claim, before the key is installed: the moment a concurrent release lands.
    const outcome = await provider
      .create(await localSpec(state.path, leaseId), { onProviderId: async (id) => void (await pool().delete(id)) })
      .then(() => undefined, (error: unknown) => error);
    assert.ok(readFileSync(host.authorizedKeys).equals(before), 'authorized_keys is as before the lease');
    assert.ok(!existsSync(claim()), 'no claim');
    assert.ok(!existsSync(join(work(), leaseId)), 'no lease dir');
    assert.ok(isCrabboxError(outcome) && outcome.code === 'lease_not_active', String(outcome));
  });
});
