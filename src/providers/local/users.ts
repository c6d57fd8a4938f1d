import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { systemClock } from '../../domain/clock.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { LEASE_USER_PATTERN } from './layout.ts';
import { killAll } from './sshd.ts';
import { isAlive, listProcesses } from './procs.ts';

const run = promisify(execFile);

function tool(name: string): string {
  return ['/usr/sbin', '/sbin', '/usr/bin', '/bin'].map((d) => join(d, name)).find(existsSync) ?? name;
}

/** uid and gid of a user from /etc/passwd, or undefined when there is no such user. */
export function lookupUser(name: string): { uid: number; gid: number; home: string } | undefined {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  if (!line) return undefined;
  const [, , uid, gid, , home] = line.split(':');
  return { uid: Number(uid), gid: Number(gid), home: home ?? '' };
}

/** The gid of a group from /etc/group, or undefined. */
export function lookupGroup(name: string): number | undefined {
  const line = readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  return line ? Number(line.split(':')[2]) : undefined;
}

function assertLeaseUser(name: string): void {
  if (!LEASE_USER_PATTERN.test(name)) throw new CrabboxError('internal', `refusing to manage user ${JSON.stringify(name)}: not a crabbox lease user`);
}

const firstLine = (error: unknown): string => String((error as { stderr?: string }).stderr || (error as Error).message).trim().split('\n')[0] ?? '';

/**
 * Runs useradd/userdel/groupadd/groupdel, retrying while another one holds the account files' lock (parallel leases).
 * Returns the exit code for the codes the caller accepts (`ok`), throws for any other failure.
 */
async function accountTool(name: string, args: string[], ok: number[] = []): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    try {
      await run(tool(name), args, { timeout: 30_000 });
      return 0;
    } catch (error) {
      const code = (error as { code?: number }).code;
      if (typeof code === 'number' && ok.includes(code)) return code;
      if (attempt < 50 && /lock/i.test(firstLine(error))) {
        await systemClock.sleep(100);
        continue;
      }
      throw error;
    }
  }
}

/**
 * Creates the lease's unprivileged user with its own group, both with `uid` (from the lease UID range, reserved by
 * the caller). The password field is `*`: no password can ever match, but unlike `!` it does not mark the account
 * locked, which sshd (UsePAM no) would refuse even for key logins. No lastlog/faillog entry is written (a high UID
 * would make those sparse files huge).
 */
export async function createLeaseUser(name: string, home: string, uid: number): Promise<{ uid: number; gid: number }> {
  assertLeaseUser(name);
  const existing = lookupUser(name);
  if (existing) return existing;
  const shell = existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh';
  try {
    const gid = lookupGroup(name);
    if (gid !== undefined && gid !== uid) await accountTool('groupdel', [name], [6]); // a leftover of a crashed create
    if (gid !== uid) await accountTool('groupadd', ['--gid', String(uid), name]);
    await accountTool('useradd', ['--uid', String(uid), '--gid', String(uid), '--no-create-home', '--no-log-init', '--home-dir', home, '--shell', shell, '--password', '*', '--comment', 'crabbox lease', name]);
  } catch (error) {
    await accountTool('groupdel', [name], [6]).catch(() => undefined);
    throw new CrabboxError('provider_error', `could not create lease user ${name}: ${firstLine(error)}`);
  }
  const created = lookupUser(name);
  if (!created) throw new CrabboxError('provider_error', `lease user ${name} was not created`);
  return created;
}

/** SIGKILLs every process of a UID, repeating until none is left (a process may fork while the others die). */
export async function killUserProcesses(uid: number): Promise<void> {
  // Zombies are dead already (they only wait to be reaped by a parent that may not be ours).
  const live = (): number[] => listProcesses().filter((p) => p.uid === uid && isAlive(p.pid)).map((p) => p.pid);
  for (let round = 0; round < 10; round++) {
    const pids = live();
    if (pids.length === 0) return;
    await killAll(pids);
  }
  const left = live().length;
  if (left > 0) throw new CrabboxError('provider_error', `${left} process(es) of uid ${uid} survived SIGKILL`);
}

/** Removes the user and its group (`userdel`, then `groupdel` if the group outlived it). Returns whether the user existed. */
export async function deleteAccount(name: string): Promise<boolean> {
  assertLeaseUser(name);
  const user = lookupUser(name);
  if (user) {
    try {
      // 6: no such user (someone removed it meanwhile).
      await accountTool('userdel', [name], [6]);
    } catch (error) {
      throw new CrabboxError('provider_error', `could not remove lease user ${name}: ${firstLine(error)}`);
    }
  }
  if (lookupGroup(name) !== undefined) await accountTool('groupdel', [name], [6]).catch(() => undefined);
  return user !== undefined;
}
