import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
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
  if (existsSync(join(path, 'usr', 'sbin', 'sshd'))) return { ok: true, path };
  mkdirSync(ROOT_CACHE, { recursive: true });
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
  return { ok: true, path };
}
