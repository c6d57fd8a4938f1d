import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, existsSync, mkdtempSync, rmSync, chmodSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runBin, BIN } from '../../src/testing/cli.ts';
import { isolatedEnv } from '../../src/testing/tmp.ts';
import { leaseLeftovers } from '../../src/testing/leftovers.ts';
import { lookupUser } from '../../src/providers/local/users.ts';
import { closeMaster, createHostKey, leaseKeyDir, leaseTarget, writeKnownHosts } from '../../src/ssh/index.ts';
import { ExitCode } from '../../src/domain/exit-codes.ts';

const json = (text: string): Record<string, unknown> => JSON.parse(text) as Record<string, unknown>;

describe('local lease lifecycle (as root: a per-lease user)', () => {
  const root = mkdtempSync('/tmp/crabbox-e2e-');
  const env = isolatedEnv(root);
  const stateDir = join(root, 'state', 'crabbox');
  after(() => rmSync(root, { recursive: true, force: true }));

  it('leases, runs over ssh with the pinned key, refuses a changed key, stops twice and leaves nothing', async () => {
    const warm = await runBin(['warmup', '--json'], { env });
    assert.equal(warm.code, 0, warm.stderr);
    const lease = json(warm.stdout);
    const id = lease.id as string;
    const slug = lease.slug as string;
    const machine = lease.machine as { host: string; ports: number[]; sshUser: string; workRoot: string };
    assert.match(id, /^cbx_[0-9a-f]{12}$/);
    assert.equal(machine.sshUser, `cbx-${id.slice(4)}`);
    assert.equal(lookupUser(machine.sshUser)?.uid !== undefined, true);
    assert.equal(readFileSync('/etc/shadow', 'utf8').split('\n').find((l) => l.startsWith(`${machine.sshUser}:`))?.split(':')[1], '*');

    const run = await runBin(['ssh', slug, '--', 'sh', '-c', 'id -un; touch "$1/made-here"; echo "$2"; exit 3', 'sh', machine.workRoot, '$(touch /tmp/p-e2e)'], { env });
    assert.equal(run.code, 3, `remote exit code passes through: ${run.stderr}`);
    assert.deepEqual(run.stdout.trim().split('\n'), [machine.sshUser, '$(touch /tmp/p-e2e)']);
    assert.ok(existsSync(join(machine.workRoot, 'made-here')));
    assert.ok(!existsSync('/tmp/p-e2e'));

    const piped = await runBin(['ssh', id, '--', 'cat'], { env, stdin: 'through stdin\n' });
    assert.equal(piped.stdout, 'through stdin\n');
    const status = await runBin(['status', slug, '--wait', '--timeout', '20s', '--json'], { env });
    assert.equal(status.code, 0, status.stderr);
    assert.equal(json(status.stdout).ready, true);
    const beat = await runBin(['heartbeat', id, '--json'], { env });
    assert.equal(beat.code, 0, beat.stderr);
    assert.equal(json(beat.stdout).state, 'active');
    const listed = json((await runBin(['list', '--json'], { env })).stdout).leases as { id: string }[];
    assert.deepEqual(listed.map((l) => l.id), [id]);

    const rootLogin = execFileSync('grep', ['-E', '^(PermitRootLogin|PasswordAuthentication|UsePAM|AllowUsers)', join(stateDir, 'local', id, 'sshd_config')]).toString();
    assert.match(rootLogin, /PermitRootLogin no/);
    assert.match(rootLogin, new RegExp(`AllowUsers ${machine.sshUser}`));

    // Pin a different key: the next connection must fail at once with one line and the ssh exit code.
    const keyDir = leaseKeyDir(stateDir, id);
    await closeMaster(leaseTarget({ keyDir, leaseId: id, host: machine.host, ports: machine.ports, user: machine.sshUser, connectTimeoutSeconds: 5 }));
    const other = await createHostKey(id);
    await writeKnownHosts(join(keyDir, 'known_hosts'), machine.host, machine.ports, other.publicKey);
    const refused = await runBin(['ssh', id, '--', 'true'], { env });
    assert.equal(refused.code, ExitCode.sshFailed);
    assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
    assert.match(refused.stderr, /host key .* does not match the key pinned/);

    const stop1 = await runBin(['stop', id], { env });
    assert.equal(stop1.code, 0, stop1.stderr);
    assert.match(stop1.stdout, /released/);
    const stop2 = await runBin(['release', id, '--json'], { env });
    assert.equal(stop2.code, 0, stop2.stderr);
    assert.equal(json(stop2.stdout).result, 'already-gone');
    const stop3 = await runBin(['stop', id], { env });
    assert.equal(stop3.code, 0, stop3.stderr);
    assert.match(stop3.stdout, new RegExp(`^no lease ${id} of yours is live; nothing to release$`, 'm'));
    assert.deepEqual(leaseLeftovers({ stateDir, leaseId: id }), []);
    assert.equal(json((await runBin(['list', '--json'], { env })).stdout).leases instanceof Array, true);
  });
});

describe('local lease lifecycle (as an unprivileged user: sshd runs as that user)', () => {
  const name = `cbxtest${randomBytes(3).toString('hex')}`;
  const home = mkdtempSync('/var/tmp/crabbox-e2e-user-');
  execFileSync('useradd', ['--no-create-home', '--home-dir', home, '--shell', '/bin/bash', '--user-group', '--password', '*', name]);
  const user = lookupUser(name)!;
  chownSync(home, user.uid, user.gid);
  chmodSync(home, 0o700);
  const env = isolatedEnv(home, { USER: name, LOGNAME: name });
  const stateDir = join(home, 'state', 'crabbox');
  after(() => {
    try {
      execFileSync('pkill', ['-KILL', '-u', name]);
    } catch {
      // nothing left running: the expected case
    }
    execFileSync('userdel', [name]);
    rmSync(home, { recursive: true, force: true });
  });

  it('leases a box as the invoking user and removes it completely', async () => {
    // bin/crabbox as the test user, with every capability dropped.
    const setpriv = ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--inh-caps=-all', process.execPath, BIN];
    const run = (args: string[]): { code: number; stdout: string; stderr: string } => {
      try {
        const stdout = execFileSync(setpriv[0]!, [...setpriv.slice(1), ...args], { env, cwd: home, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
        return { code: 0, stdout, stderr: '' };
      } catch (error) {
        const e = error as { status: number; stdout: Buffer; stderr: Buffer };
        return { code: e.status, stdout: e.stdout.toString(), stderr: e.stderr.toString() };
      }
    };
    const warm = run(['warmup', '--json']);
    assert.equal(warm.code, 0, warm.stderr);
    const lease = json(warm.stdout);
    const id = lease.id as string;
    assert.equal((lease.machine as { sshUser: string }).sshUser, name);
    const sshdPid = readFileSync(join(stateDir, 'local', id, 'sshd.pid'), 'utf8').trim();
    assert.match(readFileSync(`/proc/${sshdPid}/status`, 'utf8'), new RegExp(`^Uid:\\s+${user.uid}\\s`, 'm'), 'sshd runs as the invoking user');
    const who = run(['ssh', id, '--', 'sh', '-c', 'id -u; echo "$HOME"']);
    assert.equal(who.code, 0, who.stderr);
    assert.equal(who.stdout.trim().split('\n')[0], String(user.uid));
    assert.equal(run(['stop', id]).code, 0);
    const again = run(['stop', id]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /no lease cbx_[0-9a-f]{12} of yours is live; nothing to release/);
    assert.deepEqual(leaseLeftovers({ stateDir, leaseId: id, boxesRoot: join(stateDir, 'boxes') }), []);
  });
});
