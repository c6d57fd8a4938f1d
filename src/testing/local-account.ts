import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { listProcesses } from '../providers/local/procs.ts';
import { lookupUser } from '../providers/local/users.ts';

/**
 * A throwaway unprivileged Unix account for tests that act as another local user (an attacker, or a normal user
 * running the CLI). Needs root. Its home is a fresh 0700 directory it owns; `remove()` kills its processes, deletes
 * the account and the home, and removes whatever it still owns under the given directories.
 */
export interface LocalAccount {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** argv prefix that runs a program as this account with no capabilities and no supplementary groups. */
  asUser: string[];
  /** Runs a command as the account; returns its exit status and output. */
  run(argv: string[], options?: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string }): { status: number; stdout: string; stderr: string };
  /** Starts a long-running command as the account (killed by remove()). */
  start(argv: string[], options?: { env?: NodeJS.ProcessEnv; cwd?: string }): ChildProcess;
  remove(): Promise<void>;
}

/** useradd/userdel retried while another test holds the account files' lock. */
async function accountTool(argv: string[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const r = spawnSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status === 0) return;
    const stderr = String(r.stderr ?? '');
    if (attempt >= 50 || !/lock/i.test(stderr)) throw new Error(`${argv.join(' ')} failed (${r.status}): ${stderr.trim()}`);
    await sleep(100);
  }
}

export async function createLocalAccount(prefix = 'cbxatk'): Promise<LocalAccount> {
  if (process.getuid?.() !== 0) throw new Error('creating a test account needs root');
  const name = `${prefix}${randomBytes(3).toString('hex')}`;
  const home = mkdtempSync(`/var/tmp/${name}-home-`);
  await accountTool(['useradd', '--no-create-home', '--no-log-init', '--home-dir', home, '--shell', '/bin/sh', '--user-group', '--password', '*', name]);
  const ids = lookupUser(name)!;
  chownSync(home, ids.uid, ids.gid);
  chmodSync(home, 0o700);
  const asUser = ['setpriv', `--reuid=${ids.uid}`, `--regid=${ids.gid}`, '--clear-groups', '--inh-caps=-all', '--'];
  const baseEnv = { PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', HOME: home, USER: name, LOGNAME: name, LANG: 'C.UTF-8' };
  const children: ChildProcess[] = [];
  return {
    name,
    uid: ids.uid,
    gid: ids.gid,
    home,
    asUser,
    run(argv, options = {}) {
      const r = spawnSync(asUser[0]!, [...asUser.slice(1), ...argv], { env: { ...baseEnv, ...options.env }, cwd: options.cwd ?? home, input: options.input ?? '', encoding: 'utf8' });
      return { status: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
    },
    start(argv, options = {}) {
      const child = spawn(asUser[0]!, [...asUser.slice(1), ...argv], { env: { ...baseEnv, ...options.env }, cwd: options.cwd ?? home, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      return child;
    },
    async remove() {
      for (const child of children) child.kill('SIGKILL');
      for (let round = 0; round < 20; round++) {
        const pids = listProcesses().filter((p) => p.uid === ids.uid).map((p) => p.pid);
        if (pids.length === 0) break;
        for (const pid of pids) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone already
          }
        }
        await sleep(50);
      }
      for (const dir of ['/tmp', '/var/tmp', '/dev/shm']) {
        try {
          execFileSync('find', [dir, '-xdev', '-maxdepth', '3', '-uid', String(ids.uid), '-prune', '-exec', 'rm', '-rf', '--one-file-system', '{}', '+'], { stdio: 'ignore' });
        } catch {
          // nothing of it left there
        }
      }
      if (lookupUser(name)) await accountTool(['userdel', name]);
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Files under `dir` (not following symlinks) owned by a uid; for asserting that nothing of a lease user is left. */
export function ownedBy(uid: number, dirs: string[]): string[] {
  const out: string[] = [];
  for (const dir of dirs) {
    const r = spawnSync('find', [dir, '-xdev', '-uid', String(uid), '-print'], { encoding: 'utf8' });
    out.push(...r.stdout.split('\n').filter(Boolean));
  }
  return out;
}
