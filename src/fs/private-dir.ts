import { lstatSync } from 'node:fs';

/**
 * Whether a directory is this user's alone: a real directory (not a symlink), owned by the caller, no access for
 * group or others. Sockets (ssh's ControlMaster, the warm runner) are only ever put in such a place: whoever can
 * write the directory can put their own socket there and answer in its place (ssh hands a multiplexed session,
 * stdin, stdout, stderr and forwarded env, to whatever answers on that path).
 */
export function isPrivateDir(path: string, uid = process.getuid?.() ?? 0): boolean {
  try {
    const st = lstatSync(path);
    return st.isDirectory() && !st.isSymbolicLink() && st.uid === uid && (st.mode & 0o077) === 0;
  } catch {
    return false;
  }
}
