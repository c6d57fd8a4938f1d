import { closeSync, existsSync, openSync, readFileSync, readdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Clock } from '../../domain/clock.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { isLeaseId } from '../../domain/ids.ts';
import { privateDir } from '../../ssh/keys.ts';
import { isAlive, startTime } from './procs.ts';

/**
 * Orders create and delete of one lease, across processes (a CLI and a later `stop`, a coordinator's request
 * handlers): a per-lease lock file that both hold while they change the machine, and a tombstone that delete leaves
 * before it waits for the lock. A create in flight checks the tombstone between its steps and stops, so delete always
 * wins: it runs after the create has let go, and nothing the create made outlives it.
 */
export interface LeaseGate {
  /** Leaves the tombstone: from now on a create of this lease refuses or stops at its next checkpoint. */
  markReleased(leaseId: string): Promise<void>;
  released(leaseId: string): boolean;
  /** Runs `fn` holding the lease's lock, waiting up to `waitMs` for another holder to finish (a dead holder's lock is taken over). */
  withLock<T>(leaseId: string, waitMs: number, fn: () => Promise<T>): Promise<T>;
  /** Whether some live process holds the lease's lock right now. */
  busy(leaseId: string): boolean;
  /** Removes tombstones older than `ageMs` (lease ids are never reused, so an old tombstone guards nothing). */
  prune(ageMs: number): void;
}

/** Lock holder: pid, its start time (a reused pid is another process) and a nonce (this acquisition). */
function holderToken(): string {
  return `${process.pid} ${startTime(process.pid) ?? '?'} ${randomBytes(6).toString('hex')}`;
}

function holderAlive(token: string): boolean {
  const [pid, start] = token.split(' ');
  const n = Number(pid);
  return Number.isInteger(n) && n > 0 && isAlive(n) && startTime(n) === start;
}

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function leaseGate(localDir: string, clock: Clock): LeaseGate {
  const locks = join(localDir, '.locks');
  const tombstones = join(localDir, '.released');
  const check = (leaseId: string): string => {
    if (!isLeaseId(leaseId)) throw new CrabboxError('internal', `malformed lease id ${JSON.stringify(leaseId)}`);
    return leaseId;
  };

  function tryLock(file: string, token: string): boolean {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readOr(file);
      // A holder that died (SIGKILL, power cut) never unlocks; its lock is taken over. Re-read right before the
      // unlink so a lock another process just took over is not removed.
      if (holder !== undefined && !holderAlive(holder) && readOr(file) === holder) unlinkSync(file);
      return false;
    }
    try {
      writeSync(fd, token);
    } finally {
      closeSync(fd);
    }
    return true;
  }

  return {
    async markReleased(leaseId) {
      await privateDir(tombstones);
      closeSync(openSync(join(tombstones, check(leaseId)), 'a', 0o600));
    },

    released: (leaseId) => existsSync(join(tombstones, check(leaseId))),

    busy(leaseId) {
      const holder = readOr(join(locks, check(leaseId)));
      return holder !== undefined && holderAlive(holder);
    },

    async withLock(leaseId, waitMs, fn) {
      await privateDir(locks);
      const file = join(locks, check(leaseId));
      const token = holderToken();
      const deadline = clock.now() + waitMs;
      while (!tryLock(file, token)) {
        if (clock.now() >= deadline) {
          const holder = readOr(file)?.split(' ')[0] ?? '?';
          throw new CrabboxError('busy', `lease ${leaseId} is still being changed by process ${holder}`, { hint: 'try again in a moment' });
        }
        await clock.sleep(20);
      }
      try {
        return await fn();
      } finally {
        if (readOr(file) === token) unlinkSync(file);
      }
    },

    prune(ageMs) {
      let names: string[];
      try {
        names = readdirSync(tombstones);
      } catch {
        return;
      }
      const cutoff = clock.now() - ageMs;
      for (const name of names) {
        const path = join(tombstones, name);
        try {
          if (isLeaseId(name) && statSync(path).mtimeMs < cutoff) unlinkSync(path);
        } catch {
          // removed meanwhile
        }
      }
    },
  };
}
