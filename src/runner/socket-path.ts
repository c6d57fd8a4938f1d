import { existsSync, mkdirSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { stateDir, type PathEnv } from '../config/paths.ts';
import { isPrivateDir } from '../fs/private-dir.ts';

/** sun_path holds 108 bytes on Linux (104 on macOS); a little to spare. */
const MAX_SOCKET_PATH = 100;

/** FNV-1a twice, with two offsets: a short, stable name for a checkout (no secret: the runner checks the cwd). */
function nameFor(cwd: string): string {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < cwd.length; i++) {
    const c = cwd.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x01000193) >>> 0;
  }
  return `${a.toString(16).padStart(8, '0')}${b.toString(16).padStart(8, '0')}.sock`;
}

function candidates(env: PathEnv & { XDG_RUNTIME_DIR?: string | undefined }): string[] {
  const dirs = [join(stateDir(env), 'runners')];
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime && isAbsolute(runtime)) dirs.push(join(runtime, 'crabbox', 'runners'));
  return dirs;
}

/**
 * Whether a runner could listen for this checkout but none ever has: a socket directory its path fits in is not made
 * yet (the first runner makes it). False when no place fits, so no run starts a runner that cannot listen.
 */
export function noRunnerDirYet(env: PathEnv & { XDG_RUNTIME_DIR?: string | undefined }, cwd: string): boolean {
  const name = nameFor(cwd);
  return candidates(env).some((dir) => Buffer.byteLength(join(dir, name)) <= MAX_SOCKET_PATH && !existsSync(dir));
}

/**
 * Where the warm runner for a checkout listens: `<state>/runners/<name>.sock`, or under `$XDG_RUNTIME_DIR` when the
 * state dir's path is too long for a socket. Only ever in a directory that is this user's alone (whoever can write it
 * could answer in the runner's place). `create` makes the directory (the runner does; a client only looks).
 */
export function runnerSocketPath(env: PathEnv & { XDG_RUNTIME_DIR?: string | undefined }, cwd: string, create = false): string | undefined {
  const name = nameFor(cwd);
  for (const dir of candidates(env)) {
    const path = join(dir, name);
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH) continue;
    if (create) {
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
      } catch {
        continue;
      }
    }
    if (isPrivateDir(dir)) return path;
  }
  return undefined;
}
