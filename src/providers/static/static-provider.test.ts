import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { runProviderContract, baseSpec, answersSsh } from '../provider.contract.ts';
import { createStaticProvider, keyMarker } from './static-provider.ts';
import { newLeaseId } from '../../domain/ids.ts';
import { isCrabboxError, CrabboxError } from '../../domain/errors.ts';
import { ExitCode } from '../../domain/exit-codes.ts';
import { userConfigSchema } from '../../config/schema.ts';
import { tempDir } from '../../testing/tmp.ts';
import { startStaticHost, FOREIGN_KEY_LINE, type StaticHostFixture } from '../../testing/static-host.ts';
import { listProcesses } from '../local/procs.ts';
import { freePort } from '../local/sshd.ts';
import { cleanupExpired } from '../../leases/cleanup.ts';
import { systemClock } from '../../domain/clock.ts';
import { LABEL } from '../../domain/labels.ts';
import { closeMaster, createClientKey, createHostKey, leaseKeyDir, leaseTarget, sshCapture, writeKnownHosts } from '../../ssh/index.ts';

async function specFor(stateDir: string, leaseId: string) {
  const dir = leaseKeyDir(stateDir, leaseId);
  const sshPublicKey = await createClientKey(dir, leaseId);
  const hostKey = await createHostKey(leaseId); // unused by this provider, but part of every spec
  return baseSpec(leaseId, { sshPublicKey, hostKey });
}

const hasCode = (code: string) => (error: unknown): boolean => isCrabboxError(error) && error.code === code;

// The contract keeps up to six machines at once, so the pool has eight hosts: one sshd on eight ports, each its own work root.
runProviderContract('ssh', async () => {
  const state = tempDir();
  const host = await startStaticHost({ portCount: 8 });
  const provider = createStaticProvider({ stateDir: state.path, hosts: host.ports.map((p, i) => host.entry(p, `~/pool-${i}`)) });
  return {
    provider,
    spec: (leaseId) => specFor(state.path, leaseId),
    reachable: answersSsh,
    teardown: async () => {
      await host.stop();
      state.remove();
    },
  };
});

describe('ssh provider on a real static host', () => {
  const state = tempDir();
  let host: StaticHostFixture;
  before(async () => {
    host = await startStaticHost();
  });
  after(async () => {
    await host.stop();
    state.remove();
  });
  const pool = () => createStaticProvider({ stateDir: state.path, hosts: [host.entry(host.ports[0]!)] });
  const userPids = (cwdPrefix: string) => {
    const uid = Number(execFileSync('id', ['-u', host.user]).toString().trim());
    return listProcesses().filter((p) => p.uid === uid).filter((p) => {
      try {
        return readlinkSync(`/proc/${p.pid}/cwd`).startsWith(cwdPrefix);
      } catch {
        return false;
      }
    });
  };

  it('lets exactly one of two concurrent creates claim a one-host pool; the other gets no_free_host (exit 75)', async () => {
    const [a, b] = [newLeaseId(), newLeaseId()];
    const results = await Promise.allSettled([pool().create(await specFor(state.path, a)), pool().create(await specFor(state.path, b))]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    assert.equal(won.length, 1);
    assert.equal(lost.length, 1);
    const error = (lost[0] as PromiseRejectedResult).reason as CrabboxError;
    assert.ok(hasCode('no_free_host')(error), String(error));
    assert.equal(error.exitCode, ExitCode.tempFail);
    assert.match(error.message, /no free host in the ssh pool \(1 of 1 claimed/);
    const loser = won[0]!.value.providerId === a ? b : a;
    assert.ok(!existsSync(join(host.home, 'crabbox-work', loser)), 'the loser left no lease dir');
    assert.ok(!readFileSync(host.authorizedKeys, 'utf8').includes(keyMarker(loser)), 'the loser installed no key');
    assert.equal(await pool().delete(won[0]!.value.providerId), 'deleted');
  });

  it('runs with the lease key, and release removes exactly its key line, claim, workdir and workdir processes', async () => {
    const before = readFileSync(host.authorizedKeys);
    const leaseId = newLeaseId();
    const provider = pool();
    const machine = await provider.create(await specFor(state.path, leaseId));
    assert.equal(machine.hostKey, host.hostKey);
    assert.equal(machine.workRoot, join(host.home, 'crabbox-work', leaseId, 'work'));
    const lines = readFileSync(host.authorizedKeys, 'utf8').split('\n');
    assert.equal(lines.filter((l) => l.endsWith(` ${keyMarker(leaseId)}`)).length, 1);
    assert.equal(readlinkSync(join(host.home, 'crabbox-work', '.crabbox-claim')), leaseId);
    assert.ok(readFileSync(host.authorizedKeys).subarray(0, before.length).equals(before), 'existing lines untouched');

    const keyDir = leaseKeyDir(state.path, leaseId);
    await writeKnownHosts(join(keyDir, 'known_hosts'), machine.host, machine.ports, machine.hostKey);
    const target = leaseTarget({ keyDir, leaseId, host: machine.host, ports: machine.ports, user: machine.sshUser, connectTimeoutSeconds: 5 });
    const out = await sshCapture(target, `cd ${machine.workRoot} && (sleep 300 </dev/null >/dev/null 2>&1 &) && cd ~ && (sleep 301 </dev/null >/dev/null 2>&1 &) && whoami`);
    assert.equal(out.stdout.trim(), host.user);
    await closeMaster(target);
    assert.equal(userPids(machine.workRoot).length, 1, 'a process runs in the lease workdir');

    assert.equal(await provider.delete(leaseId), 'deleted');
    assert.ok(readFileSync(host.authorizedKeys).equals(before), 'authorized_keys is byte-identical to before the lease');
    assert.ok(readFileSync(host.authorizedKeys, 'utf8').includes(FOREIGN_KEY_LINE));
    assert.ok(!existsSync(join(host.home, 'crabbox-work', leaseId)));
    assert.ok(!existsSync(join(host.home, 'crabbox-work', '.crabbox-claim')));
    assert.equal(userPids(machine.workRoot).length, 0, 'the workdir process was stopped');
    assert.equal(userPids(host.home).filter((p) => p.pid && readlinkSync(`/proc/${p.pid}/cwd`) === host.home).length, 1, 'a process elsewhere was left alone');
    assert.equal(await provider.delete(leaseId), 'already-gone');
    assert.deepEqual(await provider.list({}), []);
  });

  it('skips an unreachable host when claiming, and names it when no host is free', async () => {
    const dead = await freePort(); // nothing listens here
    const provider = createStaticProvider({ stateDir: state.path, hosts: [host.entry(dead), host.entry(host.ports[0]!)], connectTimeoutSeconds: 3 });
    const first = await provider.create(await specFor(state.path, newLeaseId()));
    assert.equal(first.ports[0], host.ports[0]);
    await assert.rejects(provider.create(await specFor(state.path, newLeaseId())), (e: unknown) => {
      assert.ok(hasCode('no_free_host')(e), String(e));
      assert.match((e as Error).message, new RegExp(`1 of 2 claimed by other leases, unreachable: 127\\.0\\.0\\.1:${dead}`));
      return true;
    });
    assert.equal(await provider.delete(first.providerId), 'deleted');
  });

  it('release cleans up after a crash that left a key line and lease dir but no claim', async () => {
    const before = readFileSync(host.authorizedKeys);
    const provider = pool();
    const leaseId = newLeaseId();
    await provider.create(await specFor(state.path, leaseId));
    execFileSync('rm', [join(host.home, 'crabbox-work', '.crabbox-claim')]);
    assert.equal(await provider.get(leaseId), undefined, 'without the claim the lease is not listed');
    assert.equal(await provider.delete(leaseId), 'deleted');
    assert.ok(readFileSync(host.authorizedKeys).equals(before));
    assert.ok(!existsSync(join(host.home, 'crabbox-work', leaseId)));
  });

  it('the expiry sweep finds an expired lease by its labels on the host and releases it', async () => {
    const before = readFileSync(host.authorizedKeys);
    const provider = pool();
    const leaseId = newLeaseId();
    const spec = await specFor(state.path, leaseId);
    const past = Math.floor(Date.now() / 1000) - 60;
    spec.labels = { ...spec.labels, [LABEL.created]: String(past - 600), [LABEL.touched]: String(past - 600), [LABEL.expires]: String(past) };
    await provider.create(spec);
    const report = await cleanupExpired({ provider, clock: systemClock, stateDir: state.path, owner: 'contract' });
    assert.deepEqual(report.deleted.map((d) => d.id), [leaseId]);
    assert.ok(readFileSync(host.authorizedKeys).equals(before));
    assert.ok(!existsSync(join(host.home, 'crabbox-work', '.crabbox-claim')));
  });

  it('fails fast with host_key_mismatch when the configured host key is wrong', async () => {
    const other = tempDir();
    try {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(other.path, 'k')]);
      const wrong = readFileSync(join(other.path, 'k.pub'), 'utf8').trim();
      const provider = createStaticProvider({ stateDir: state.path, hosts: [{ ...host.entry(host.ports[0]!), hostKey: wrong }] });
      const started = Date.now();
      await assert.rejects(provider.create(await specFor(state.path, newLeaseId())), (e: unknown) => {
        assert.ok(hasCode('host_key_mismatch')(e), String(e));
        assert.match((e as Error).message, /does not match its configured hostKey/);
        return true;
      });
      await assert.rejects(provider.list({}), hasCode('host_key_mismatch'));
      // A generous bound on purpose: the provider has no retry loop, so this only catches a hang (retrying until some
      // deadline, or ssh stuck on a prompt), not slowness. The ssh layer's no-retry on a mismatch is proven by count
      // in local-provider.test.ts (waitReady with a passed deadline).
      assert.ok(Date.now() - started < 30_000, 'a mismatch fails without hanging');
      assert.ok(!existsSync(join(host.home, 'crabbox-work', '.crabbox-claim')), 'nothing claimed');
    } finally {
      other.remove();
    }
  });
});

describe('ssh provider refuses hostile or incomplete config before any ssh runs', () => {
  const base = { host: '127.0.0.1', port: 22, user: 'crabbox', hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBb3gYv6ZQ3uYy6cQ0i7lq5m0r4s4x9yWZr8a1bC2d3E', identityFile: '/root/.ssh/id_ed25519' };
  const hostile: [string, Record<string, unknown>, RegExp][] = [
    ['a host that is an ssh option', { host: '-oProxyCommand=touch /tmp/cbx-pwned' }, /host .* is not a host name/],
    ['a user with a shell command', { user: 'root;rm' }, /user .* is not a Unix user name/],
    ['a relative work root', { workRoot: '../..' }, /workRoot .* must be an absolute or ~\/ path/],
    ['a work root escaping with ..', { workRoot: '/work/../etc' }, /workRoot/],
    ['an identity file that is an option', { identityFile: '-oProxyCommand=x' }, /identityFile/],
    ['sudo for leases that log in as the host user', { sudo: true }, /sudo: true needs leaseUsers: true/],
    ['sudo with leaseUsers off', { sudo: true, leaseUsers: false }, /sudo: true needs leaseUsers: true/],
  ];
  for (const [what, patch, message] of hostile) {
    it(`refuses ${what}`, () => {
      const entry = { ...base, ...patch };
      assert.equal(userConfigSchema.safeParse({ static: { hosts: [entry] } }).success, false, 'the schema refuses it');
      assert.throws(() => createStaticProvider({ stateDir: '/nonexistent', hosts: [entry as typeof base] }), (e: unknown) => {
        assert.ok(hasCode('invalid_config')(e));
        assert.match((e as Error).message, message);
        assert.equal((e as Error).message.split('\n').length, 1);
        return true;
      });
    });
  }

  it('refuses a host without a pinned host key and says how to get one', () => {
    const { hostKey: _, ...entry } = base;
    assert.throws(() => createStaticProvider({ stateDir: '/nonexistent', hosts: [entry] }), (e: unknown) => {
      assert.ok(hasCode('invalid_config')(e));
      assert.match((e as Error).message, /no hostKey configured/);
      assert.match((e as CrabboxError).hint ?? '', /ssh-keyscan -t ed25519 -p 22 127\.0\.0\.1/);
      return true;
    });
  });

  it('accepts a well-formed host', () => {
    assert.equal(userConfigSchema.safeParse({ static: { hosts: [{ ...base, workRoot: '~/crabbox-work' }] } }).success, true);
    assert.equal(userConfigSchema.safeParse({ static: { hosts: [{ ...base, leaseUsers: true, sudo: true }] } }).success, true);
    assert.equal(userConfigSchema.safeParse({ static: { hosts: [{ ...base, leaseUsers: 'yes' }] } }).success, false, 'leaseUsers is a boolean');
    assert.equal(createStaticProvider({ stateDir: '/nonexistent', hosts: [base] }).name, 'ssh');
  });
});
