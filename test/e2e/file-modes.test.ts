// What the CLI and the local provider write, and with which modes, whatever the umask: issue 22's file-mode test.
// As root and as a throwaway unprivileged user (created and removed here), at umask 000, 022 and 077. The
// coordinator's database files are covered with the coordinator.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN } from '../../src/testing/cli.ts';
import { isolatedEnv } from '../../src/testing/tmp.ts';
import { createLocalAccount, type LocalAccount } from '../../src/testing/local-account.ts';
import { lookupUser } from '../../src/providers/local/users.ts';
import { ROOT_BOXES_DIR, ROOT_LIB_DIR } from '../../src/providers/local/layout.ts';
import { UID_REGISTRY_DIR } from '../../src/providers/local/uids.ts';

const octal = (mode: number): string => `0${(mode & 0o7777).toString(8)}`;

/**
 * Every file and directory under `dir` (not following symlinks) with its mode and owner. The content of a box's
 * home, work and tmp is the lease's own (the synced checkout keeps its modes): only those directories themselves,
 * 0700, are what Crabbox writes there.
 */
function walk(dir: string, out: { path: string; mode: number; uid: number; kind: string }[] = []): typeof out {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path);
    const kind = st.isDirectory() ? 'dir' : st.isSocket() ? 'socket' : st.isSymbolicLink() ? 'link' : 'file';
    out.push({ path, mode: st.mode & 0o7777, uid: st.uid, kind });
    const leaseOwn = /\/cbx_[0-9a-f]{12}\/(home|work|tmp)$/.test(path) && readdirSync(dir).includes('authorized_keys');
    if (st.isDirectory() && !leaseOwn) walk(path, out);
  }
  return out;
}

/** Entries anyone but their owner can read, write or enter. */
const openToOthers = (entries: ReturnType<typeof walk>): string[] =>
  entries.filter((e) => e.kind !== 'link' && (e.mode & 0o077) !== 0).map((e) => `${e.path} ${octal(e.mode)}`);

interface Runner {
  label: string;
  uid: number;
  home: string;
  env: NodeJS.ProcessEnv;
  /** argv prefix that runs a program as this identity. */
  prefix: string[];
}

function crabbox(runner: Runner, umask: number, args: string[], cwd: string): { status: number; stdout: string; stderr: string } {
  const argv = [...runner.prefix, 'sh', '-c', `umask ${umask.toString(8).padStart(3, '0')} && exec "$0" "$@"`, process.execPath, BIN, ...args];
  const r = spawnSync(argv[0]!, argv.slice(1), { env: runner.env, cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

describe('file modes of everything the CLI and the local provider write', { concurrency: false }, () => {
  let account: LocalAccount;
  const rootHome = mkdtempSync('/tmp/crabbox-modes-root-');
  let runners: Runner[] = [];
  before(async () => {
    account = await createLocalAccount('cbxfm');
    runners = [
      { label: 'root', uid: 0, home: rootHome, env: isolatedEnv(rootHome), prefix: [] },
      { label: 'a normal user', uid: account.uid, home: account.home, env: isolatedEnv(account.home, { USER: account.name, LOGNAME: account.name }), prefix: account.asUser },
    ];
  });
  after(async () => {
    await account.remove();
    rmSync(rootHome, { recursive: true, force: true });
  });

  for (const umask of [0o000, 0o022, 0o077]) {
    for (const who of ['root', 'a normal user']) {
      it(`as ${who} at umask ${umask.toString(8).padStart(3, '0')}: state, keys, known_hosts, lease index, run records and box dirs are private`, () => {
        const runner = runners.find((r) => r.label === who)!;
        const home = runner.home;
        const stateDir = join(home, 'state', 'crabbox');
        rmSync(join(home, 'state'), { recursive: true, force: true });
        // A checkout to run in, owned by the runner.
        const repo = join(home, `repo-${umask}`);
        rmSync(repo, { recursive: true, force: true });
        mkdirSync(repo);
        writeFileSync(join(repo, 'README'), 'modes\n');
        spawnSync('chown', ['-R', `${runner.uid}:${lookupUser(who === 'root' ? 'root' : account.name)!.gid}`, repo]);
        chmodSync(repo, 0o755);
        const git = (args: string[]) => {
          const argv = [...runner.prefix, 'git', ...args];
          return spawnSync(argv[0]!, argv.slice(1), { cwd: repo, env: runner.env, encoding: 'utf8' });
        };
        assert.equal(git(['init', '-q']).status, 0);
        assert.equal(git(['-c', 'user.name=modes', '-c', 'user.email=modes@example.com', 'commit', '-q', '--allow-empty', '-m', 'init']).status, 0);

        const warm = crabbox(runner, umask, ['warmup', '--json'], repo);
        assert.equal(warm.status, 0, warm.stderr);
        const lease = JSON.parse(warm.stdout) as { id: string; machine: { workRoot: string } };
        try {
          const ran = crabbox(runner, umask, ['run', '--id', lease.id, '--', 'sh', '-c', 'umask; f="${TMPDIR:-/tmp}/crabbox-modes-$$"; echo hi > "$f"; stat -c %a "$f"; rm -f "$f"'], repo);
          assert.equal(ran.status, 0, ran.stderr);

          const state = walk(stateDir);
          for (const sub of ['leases', 'local', 'runs']) assert.ok(state.some((e) => e.path === join(stateDir, sub)), `${sub} exists`);
          assert.ok(state.some((e) => e.path.endsWith(join(lease.id, 'id_ed25519'))), 'the lease key is there');
          assert.ok(state.some((e) => e.path.endsWith(join(lease.id, 'known_hosts'))), 'the pinned known_hosts is there');
          assert.ok(state.some((e) => e.path.endsWith(join(lease.id, 'lease.json'))), 'the lease index entry is there');
          assert.ok(state.some((e) => e.path.startsWith(join(stateDir, 'runs')) && e.kind === 'file'), 'a run record is there');
          assert.deepEqual(openToOthers([{ path: stateDir, mode: lstatSync(stateDir).mode & 0o7777, uid: 0, kind: 'dir' }, ...state]), [], 'nothing in the state dir is open to others');
          for (const e of state) assert.equal(e.uid, runner.uid, `${e.path} belongs to the CLI user`);

          // The box: root-owned where the lease user must not write, the lease user's own parts private.
          const box = join(lease.machine.workRoot, '..');
          const boxes = join(box, '..');
          const entries = walk(box);
          const modeOf = (path: string): string => octal(lstatSync(path).mode);
          if (who === 'root') {
            assert.equal(boxes, ROOT_BOXES_DIR);
            assert.equal(modeOf(ROOT_LIB_DIR), '0755');
            assert.equal(modeOf(ROOT_BOXES_DIR), '0711');
            assert.equal(modeOf(UID_REGISTRY_DIR), '0700');
            assert.deepEqual(openToOthers(walk(UID_REGISTRY_DIR)), []);
            assert.equal(modeOf(box), '0711');
            assert.equal(modeOf(join(box, 'authorized_keys')), '0644');
            assert.equal(modeOf(join(box, 'owner')), '0644');
            assert.equal(lstatSync(join(box, 'authorized_keys')).uid, 0);
            const rest = entries.filter((e) => !['authorized_keys', 'owner'].includes(e.path.slice(box.length + 1)));
            assert.deepEqual(openToOthers(rest), [], 'home, work and tmp are the lease user\'s alone');
          } else {
            assert.equal(boxes, join(stateDir, 'boxes'));
            assert.deepEqual(openToOthers(entries), []);
          }
          for (const dir of ['home', 'work', 'tmp']) assert.equal(modeOf(join(box, dir)), '0700', dir);
          assert.match(ran.stdout, /^0077\n600\n/m, 'the box session runs with umask 077 whatever the CLI\'s umask');
        } finally {
          const stop = crabbox(runner, umask, ['stop', lease.id], repo);
          assert.equal(stop.status, 0, stop.stderr);
          rmSync(repo, { recursive: true, force: true });
        }
      });
    }
  }
});
