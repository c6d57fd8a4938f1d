// Brokered mode: a real coordinator process (SQLite, local provider) and a `crabbox run` killed -9 while its command
// runs. The box stops the command when the connection ends; the coordinator keeps the lease on record and, once its
// idle deadline passes, its sweeper expires it and deletes the box. (The CLI's own key directory of such a lease is
// issue 11 item 3, fixed elsewhere.)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BIN, runBin } from '../../src/testing/cli.ts';
import { initRepo } from '../../src/testing/git.ts';
import { leaseLeftovers } from '../../src/testing/leftovers.ts';
import { startServe, type ServeProcess } from '../../src/testing/serve.ts';
import { isolatedEnv, tempDir } from '../../src/testing/tmp.ts';
import { until } from '../../src/testing/until.ts';

const SECRET = 'brokered-crash-session-secret-0123456789abcdef';
const SHARED = 'brokered-crash-shared-token-0123456789';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('brokered: a crabbox run killed -9 while its command runs', () => {
  const tmp = tempDir('crabbox-faults-brokered-');
  const signals = mkdtempSync('/var/tmp/crabbox-faults-brokered-');
  chmodSync(signals, 0o777);
  const servers: ServeProcess[] = [];
  after(async () => {
    for (const s of servers) await s.stop('SIGKILL');
    tmp.remove();
    rmSync(signals, { recursive: true, force: true });
  });

  it('the box stops the command; the coordinator keeps the lease and its sweeper expires it and deletes the box', async () => {
    const coordState = join(tmp.path, 'coord');
    const coordEnv = isolatedEnv(coordState, { CRABBOX_SHARED_TOKEN: SHARED, CRABBOX_SESSION_SECRET: SECRET });
    const db = join(tmp.path, 'coordinator.sqlite');
    const first = await startServe(coordEnv, ['--db', db, '--providers', 'local']);
    servers.push(first);
    const issued = await runBin(['coordinator', 'issue-token', '--login', 'ada', '--ttl', '1d'], { env: isolatedEnv(join(tmp.path, 'issuer'), { CRABBOX_SESSION_SECRET: SECRET }) });
    assert.equal(issued.code, 0, issued.stderr);
    const user = isolatedEnv(join(tmp.path, 'ada'), { CRABBOX_COORDINATOR: first.url, CRABBOX_COORDINATOR_TOKEN: issued.stdout.trim() });
    const repo = join(tmp.path, 'repo');
    initRepo(repo, { 'a.txt': 'a\n' });

    const pidFile = join(signals, 'pid');
    const child = spawn(process.execPath, [BIN, 'run', '--', 'sh', '-c', `echo $$ > ${pidFile}; while :; do sleep 0.1; done`], { env: user, cwd: repo, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    await until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 'the remote command to start', 60_000);
    child.kill('SIGKILL');
    await exited;
    const remote = Number(readFileSync(pidFile, 'utf8'));
    await until(() => !alive(remote), 'the box to stop the orphaned command', 15_000);

    const listed = await runBin(['list', '--json'], { env: user, cwd: repo });
    assert.equal(listed.code, 0, listed.stderr);
    const [lease] = (JSON.parse(listed.stdout) as { leases: { id: string; state: string }[] }).leases;
    assert.equal(lease?.state, 'active', 'the coordinator still has the lease: nothing is lost');
    const leftovers = () => leaseLeftovers({ stateDir: join(coordState, 'state', 'crabbox', 'coordinator'), leaseId: lease!.id });
    assert.notDeepEqual(leftovers(), [], 'the box outlived the CLI');

    // An hour later on the coordinator's clock (the idle deadline is 30 minutes): its first sweep expires the lease.
    await first.stop();
    const later = await startServe({ ...coordEnv, CRABBOX_CLOCK_OFFSET: '1h' }, ['--db', db, '--providers', 'local'], { port: first.port });
    servers.push(later);
    await until(async () => {
      const r = await runBin(['status', lease!.id, '--json'], { env: user, cwd: repo });
      return r.code === 0 && (JSON.parse(r.stdout) as { state: string }).state === 'expired';
    }, 'the lease to read expired');
    await until(() => leftovers().length === 0, `no machine, user, process or directory of ${lease!.id}: ${leftovers()}`);
    const events = await runBin(['events', '--lease', lease!.id, '--json'], { env: user, cwd: repo });
    const types = (JSON.parse(events.stdout) as { events: { type: string }[] }).events.map((e) => e.type);
    for (const t of ['lease.expired', 'machine.deleted']) assert.ok(types.includes(t), `the user can read what happened: ${types.join(',')}`);
  });
});
