import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Packages baked into the test root at build time, so the bootstrap's apt step finds them installed (no network). */
export const ROOT_PACKAGES = ['openssh-server', 'sudo', 'git', 'rsync', 'curl', 'jq', 'ca-certificates'];

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Gitignored cache for built roots; reruns reuse them. */
export const ROOT_CACHE = join(repoRoot, '.crabbox-test', 'debian-root');

/** The suite this machine runs (`bookworm`), from /etc/os-release. */
export function hostSuite(): string {
  const text = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  return /^VERSION_CODENAME=(\w+)/m.exec(text)?.[1] ?? 'bookworm';
}

/** The Debian mirror apt already uses on this machine (deb822 or one-line sources), for the suite. */
export function hostMirror(suite: string): string {
  const files = ['/etc/apt/sources.list', ...(existsSync('/etc/apt/sources.list.d') ? readdirSync('/etc/apt/sources.list.d').filter((f) => /\.(list|sources)$/.test(f)).map((f) => join('/etc/apt/sources.list.d', f)) : [])];
  for (const file of files) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    for (const stanza of text.split(/\n\s*\n/)) {
      const uri = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
      const suites = /^Suites:\s*(.+)$/m.exec(stanza)?.[1]?.split(/\s+/) ?? [];
      if (uri && suites.includes(suite) && /^Types:.*\bdeb\b/m.test(stanza)) return uri;
    }
    const line = new RegExp(`^deb\\s+(?:\\[[^\\]]*\\]\\s+)?(\\S+)\\s+${suite}\\s`, 'm').exec(text);
    if (line) return line[1]!;
  }
  return 'http://deb.debian.org/debian';
}

export type RootResult = { ok: true; path: string } | { ok: false; reason: string };

/**
 * A minimal Debian root (debootstrap minbase + ROOT_PACKAGES), built once and cached. The build goes to a
 * temporary directory and is renamed into place only when complete, so an interrupted build is never reused.
 */
export function ensureDebianRoot(): RootResult {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'needs root (debootstrap, chroot, mount, ip netns)' };
  for (const tool of ['debootstrap', 'ip', 'mount', 'chroot']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return { ok: false, reason: `${tool} is not installed (bash scripts/setup.sh --test installs it)` };
  }
  const suite = hostSuite();
  const mirror = hostMirror(suite);
  const key = createHash('sha256').update(JSON.stringify({ suite, mirror, packages: ROOT_PACKAGES, v: 1 })).digest('hex').slice(0, 12);
  const path = join(ROOT_CACHE, `${suite}-${key}`);
  const built = (): boolean => existsSync(join(path, 'usr', 'sbin', 'sshd'));
  if (built()) return { ok: true, path };
  mkdirSync(ROOT_CACHE, { recursive: true });
  // Test files run in parallel and several need the root: one builds it, the others wait for it (a fresh CI machine
  // has no cached root, and two builds renamed onto one path failed with ENOTEMPTY).
  const release = buildLock(`${path}.lock`, built);
  if (!release) return { ok: true, path };
  try {
    if (built()) return { ok: true, path };
    build(suite, mirror, path);
    return { ok: true, path };
  } finally {
    release();
  }
}

/** Sleeps this thread (the callers are synchronous module set-up, before any test runs). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Takes the build lock (a directory, made atomically, holding the builder's pid) and returns its release; or waits
 * while another live process holds it and returns undefined once `done()` says the root is there. A lock whose
 * process is gone is taken over. Bounded: 20 minutes.
 */
function buildLock(lock: string, done: () => boolean): (() => void) | undefined {
  const pidFile = join(lock, 'pid');
  for (let waited = 0; waited < 20 * 60_000; waited += 500) {
    try {
      mkdirSync(lock);
      writeFileSync(pidFile, String(process.pid));
      return () => rmSync(lock, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (done()) return undefined;
    const holder = Number(existsSync(pidFile) ? readFileSync(pidFile, 'utf8') : NaN);
    // A holder that died mid-build (or before writing its pid, after a grace period) leaves the lock to take over.
    if ((Number.isInteger(holder) && !alive(holder)) || (!Number.isInteger(holder) && waited >= 5_000)) rmSync(lock, { recursive: true, force: true });
    else sleepSync(500);
  }
  throw new Error(`timed out waiting for another process to build the Debian test root (${lock})`);
}

function build(suite: string, mirror: string, path: string): void {
  const building = `${path}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  try {
    execFileSync('debootstrap', ['--variant=minbase', `--include=${ROOT_PACKAGES.join(',')}`, suite, building, mirror], { stdio: 'pipe', timeout: 15 * 60_000 });
  } catch (error) {
    rmSync(building, { recursive: true, force: true });
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim().split('\n').slice(-3).join(' | ');
    throw new Error(`debootstrap ${suite} from ${mirror} failed: ${stderr || (error as Error).message}`);
  }
  renameSync(building, path);
}
