import { execFileSync } from 'node:child_process';
import { closeSync, readFileSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { CrabboxError } from '../../domain/errors.ts';
import { ROOT_LIB_DIR } from './layout.ts';
import { openTrustedDir } from './boxes-root.ts';
import { at, createFileAt, replaceFileAt } from './safe-fs.ts';

/**
 * Lease users get UIDs (and equal GIDs) from a range of their own, never from the range useradd hands to people:
 * 0x70000000-0x7000ffff. systemd documents 1879048192-2147483647 as unused by its own allocations (above its
 * container range, below 2^31 for tools with a signed uid_t), and it is far above the default subordinate-ID ranges.
 */
export const LEASE_UID_FIRST = 0x7000_0000;
export const LEASE_UID_COUNT = 0x1_0000;

/** One file per UID in use or still reserved: created before the user, removed only once nothing of the user is left. */
export const UID_REGISTRY_DIR = join(ROOT_LIB_DIR, 'uids');

export interface UidRecord {
  uid: number;
  user: string;
  leaseId: string;
  /** The machine dir of the lease, so a state dir's orphan sweep only finishes its own leases. */
  machineDir: string;
  /** Set once the user is removed while something of it may remain: what the purge could not finish. */
  left?: string[] | undefined;
}

const NEXT = 'next';

function registryFd(dir: string): number {
  return openTrustedDir(dir, {
    asRoot: true, uid: 0, mode: 0o700, what: 'lease UID registry',
    hint: `remove ${dir} (it must be root's, mode 0700) and try again`,
  });
}

function namesTaken(file: string, field: 2): Set<number> {
  const out = new Set<number>();
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const id = Number(line.split(':')[field]);
      if (Number.isInteger(id)) out.add(id);
    }
  } catch {
    // no such file: nothing taken there
  }
  return out;
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** Whether any account source (files, LDAP, ...) knows the id as a user or group. */
function knownToNss(id: number): boolean {
  for (const db of ['passwd', 'group']) {
    try {
      execFileSync('getent', [db, String(id)], { stdio: 'ignore', timeout: 10_000 });
      return true;
    } catch (error) {
      if ((error as { status?: number }).status !== 2) return true; // getent failed oddly: do not bet on the id being free
    }
  }
  return false;
}

/**
 * Reserves a UID for a new lease user: the next one after the last reservation (so a freed UID comes back as late as
 * possible) that no user or group has and no reservation holds. The reservation is an exclusively created file, so two
 * creates never get the same UID.
 */
export function reserveUid(record: Omit<UidRecord, 'uid'>, dir = UID_REGISTRY_DIR): number {
  const fd = registryFd(dir);
  try {
    const users = namesTaken('/etc/passwd', 2);
    const groups = namesTaken('/etc/group', 2);
    const last = Number(readOr(at(fd, NEXT), '').trim());
    const start = Number.isInteger(last) && last >= LEASE_UID_FIRST && last < LEASE_UID_FIRST + LEASE_UID_COUNT ? last - LEASE_UID_FIRST : 0;
    for (let i = 0; i < LEASE_UID_COUNT; i++) {
      const uid = LEASE_UID_FIRST + ((start + i) % LEASE_UID_COUNT);
      if (users.has(uid) || groups.has(uid)) continue;
      try {
        createFileAt(fd, String(uid), `${JSON.stringify({ ...record, uid })}\n`, 0o600);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw error;
      }
      if (knownToNss(uid)) {
        unlinkSync(at(fd, String(uid))); // a directory service (LDAP, ...) has it
        continue;
      }
      replaceFileAt(fd, NEXT, `${uid + 1}\n`, 0o600);
      return uid;
    }
  } finally {
    closeSync(fd);
  }
  throw new CrabboxError('provider_error', `no free lease UID left in ${LEASE_UID_FIRST}-${LEASE_UID_FIRST + LEASE_UID_COUNT - 1}`, {
    hint: `every UID there is in use or still reserved because files of an old lease user remain; see ${dir}`,
  });
}

/** Keeps a reservation after the user is gone, noting what may be left (for the operator; the orphan sweep retries). */
export function keepUid(uid: number, left: string[], dir = UID_REGISTRY_DIR): void {
  const record = reservationOf(uid, dir);
  if (!record) return;
  const fd = registryFd(dir);
  try {
    replaceFileAt(fd, String(uid), `${JSON.stringify({ ...record, left: left.slice(0, 10) })}\n`, 0o600);
  } finally {
    closeSync(fd);
  }
}

/** Ends a reservation: only once nothing of the user is left anywhere crabbox looks. */
export function releaseUid(uid: number, dir = UID_REGISTRY_DIR): void {
  const fd = registryFd(dir);
  try {
    unlinkSync(at(fd, String(uid)));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  } finally {
    closeSync(fd);
  }
}

/** Every reservation (UIDs in use and UIDs kept because something of their old user may remain). */
export function reservedUids(dir = UID_REGISTRY_DIR): UidRecord[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: UidRecord[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const record = JSON.parse(readFileSync(join(dir, name), 'utf8')) as UidRecord;
      if (record.uid === Number(name)) out.push(record);
    } catch {
      // unreadable: the reservation still holds, it just names nothing we can finish
    }
  }
  return out;
}

/** The reservation of one UID, if any. */
export function reservationOf(uid: number, dir = UID_REGISTRY_DIR): UidRecord | undefined {
  return reservedUids(dir).find((r) => r.uid === uid);
}
