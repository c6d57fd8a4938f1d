import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CrabboxError } from '../../domain/errors.ts';
import { LEASE_USER_PATTERN } from './layout.ts';
import { killAll } from './sshd.ts';
import { listProcesses } from './procs.ts';

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

function assertLeaseUser(name: string): void {
  if (!LEASE_USER_PATTERN.test(name)) throw new CrabboxError('internal', `refusing to manage user ${JSON.stringify(name)}: not a crabbox lease user`);
}

/**
 * Creates the lease's unprivileged user with its own group. The password field is `*`: no password can ever match,
 * but unlike `!` it does not mark the account locked, which sshd (UsePAM no) would refuse even for key logins.
 */
export async function createLeaseUser(name: string, home: string): Promise<{ uid: number; gid: number }> {
  assertLeaseUser(name);
  const existing = lookupUser(name);
  if (existing) return existing;
  const shell = existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh';
  try {
    await run(tool('useradd'), ['--no-create-home', '--home-dir', home, '--shell', shell, '--user-group', '--password', '*', '--comment', 'crabbox lease', name], { timeout: 30_000 });
  } catch (error) {
    throw new CrabboxError('provider_error', `could not create lease user ${name}: ${String((error as { stderr?: string }).stderr ?? (error as Error).message).trim().split('\n')[0]}`);
  }
  const created = lookupUser(name);
  if (!created) throw new CrabboxError('provider_error', `lease user ${name} was not created`);
  return created;
}

/** Kills every process of the lease user, then removes the user and its group. Returns whether the user existed. */
export async function removeLeaseUser(name: string): Promise<boolean> {
  assertLeaseUser(name);
  const user = lookupUser(name);
  if (!user) return false;
  for (let round = 0; round < 5; round++) {
    const pids = listProcesses().filter((p) => p.uid === user.uid).map((p) => p.pid);
    if (pids.length === 0) break;
    await killAll(pids);
  }
  for (let attempt = 0; ; attempt++) {
    try {
      await run(tool('userdel'), [name], { timeout: 30_000 });
      return true;
    } catch (error) {
      const code = (error as { code?: number }).code;
      if (code === 6) return false; // no such user: someone removed it already
      if (attempt >= 3) throw new CrabboxError('provider_error', `could not remove lease user ${name}: ${String((error as { stderr?: string }).stderr ?? '').trim().split('\n')[0]}`);
      await killAll(listProcesses().filter((p) => p.uid === user.uid).map((p) => p.pid));
    }
  }
}
