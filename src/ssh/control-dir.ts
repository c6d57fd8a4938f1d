import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic-write.ts';
import { isPrivateDir } from '../fs/private-dir.ts';

export { isPrivateDir };

/** ssh appends a 17-character temporary suffix while creating the socket; stay well under the 104-byte limit. */
export const MAX_CONTROL_PATH = 80;

/** Socket names in a shared control dir: the lease id's 12 hex digits. */
const SOCKET_NAME_BYTES = 12;

const fits = (dir: string): boolean => Buffer.byteLength(join(dir, 'x'.repeat(SOCKET_NAME_BYTES))) <= MAX_CONTROL_PATH;

/** `$XDG_RUNTIME_DIR/crabbox`, when the runtime dir is the caller's private one (systemd makes it 0700) and short. */
function runtimeDir(env: NodeJS.ProcessEnv): string | undefined {
  const base = env.XDG_RUNTIME_DIR;
  if (!base || !isAbsolute(base) || !isPrivateDir(base)) return undefined;
  const dir = join(base, 'crabbox');
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
  }
  return isPrivateDir(dir) && fits(dir) ? dir : undefined;
}

/**
 * A private dir under the temp dir made with mkdtemp (a fresh, unpredictable name created 0700 in one step, so no
 * other account can have made it first), remembered in `pointer` so later commands find the same sockets. Checked
 * again on every use: once the OS ages it out of /tmp, another account could take the name, and then it is replaced.
 */
function tempControlDir(pointer: string): string | undefined {
  try {
    const remembered = readFileSync(pointer, 'utf8').trim();
    if (isAbsolute(remembered) && isPrivateDir(remembered) && fits(remembered)) return remembered;
  } catch {
    // none yet
  }
  for (const base of [tmpdir(), '/tmp']) {
    if (!fits(join(base, 'cbx-XXXXXX'))) continue;
    let dir: string;
    try {
      dir = mkdtempSync(join(base, 'cbx-'));
    } catch {
      continue;
    }
    if (!isPrivateDir(dir)) continue;
    try {
      writeFileAtomic(pointer, `${dir}\n`, { durable: false });
    } catch {
      // the state dir is not writable: the dir still works for this command
    }
    return dir;
  }
  return undefined;
}

/**
 * The ControlMaster socket path for a lease: `<keyDir>/cm` when short enough (the key dir is private), else a socket
 * in a private control dir (the caller's XDG runtime dir, or a mkdtemp dir), each verified with lstat before use.
 * A shared, predictable directory such as `$TMPDIR/cbx-<uid>` is never used. `none` (no multiplexing; every command
 * opens its own connection) when no private place short enough exists.
 */
export function controlPathFor(keyDir: string, leaseId: string, env: NodeJS.ProcessEnv = process.env): string {
  const preferred = join(keyDir, 'cm');
  if (Buffer.byteLength(preferred) <= MAX_CONTROL_PATH) return preferred;
  const name = leaseId.slice(4);
  const dir = runtimeDir(env) ?? tempControlDir(join(dirname(keyDir), '.control-dir'));
  return dir ? join(dir, name) : 'none';
}
