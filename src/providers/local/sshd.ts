import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock, type Clock } from '../../domain/clock.ts';
import { CrabboxError } from '../../domain/errors.ts';

import { commandLine, descendants, isAlive, listProcesses, signal } from './procs.ts';
import { readSmall } from '../../fs/small-read.ts';

const sleep = (ms: number): Promise<void> => systemClock.sleep(ms);

const TEMPLATE = 'sshd_config.template';

/** Finds the sshd_config template next to this file (source) or in the package's source tree (bundle). */
export function templatePath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  if (existsSync(join(dir, TEMPLATE))) return join(dir, TEMPLATE);
  for (;;) {
    const candidate = join(dir, 'src', 'providers', 'local', TEMPLATE);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new CrabboxError('internal', `sshd config template ${TEMPLATE} not found in the crabbox package`);
    dir = parent;
  }
}

export interface SshdSettings {
  port: number;
  hostKey: string;
  /** The host key's certificate file (host CA); without it the line is left out and the client pins the key. */
  hostCertificate?: string | undefined;
  authorizedKeys: string;
  pidFile: string;
  user: string;
  /** The lease's private TMPDIR, set for every session; without it the line is left out (test fixtures). */
  tmpDir?: string | undefined;
  /** The user CA files (user-ca.ts); without them the CA lines are left out and the box takes per-lease keys. */
  userCa?: { caKeys: string; principals: string; revoked: string } | undefined;
}

/** Renders the sshd_config template. Values are paths and names crabbox built itself; anything odd is refused. */
export function renderSshdConfig(template: string, settings: SshdSettings): string {
  const values: Record<string, string> = {
    PORT: String(settings.port),
    HOST_KEY: settings.hostKey,
    ...(settings.hostCertificate ? { HOST_CERTIFICATE: settings.hostCertificate } : {}),
    AUTHORIZED_KEYS: settings.authorizedKeys,
    PID_FILE: settings.pidFile,
    USER: settings.user,
    ...(settings.tmpDir === undefined ? {} : { TMPDIR: settings.tmpDir }),
    ...(settings.userCa ? { USER_CA_KEYS: settings.userCa.caKeys, PRINCIPALS: settings.userCa.principals, REVOKED_KEYS: settings.userCa.revoked } : {}),
  };
  for (const [key, value] of Object.entries(values)) {
    // `%u` (the login's name, in AuthorizedKeysFile) and `cbx-*` (AllowUsers) appear only in a pool box's config.
    if (!/^[A-Za-z0-9._\/+@-]+$/.test(value) && !/^[A-Za-z0-9._\/+@-]+\/%u$/.test(value) && value !== 'cbx-*') throw new CrabboxError('invalid_config', `cannot put ${JSON.stringify(value)} in sshd_config (${key}); use a path without spaces or special characters`);
  }
  const lines = template.split('\n').filter((line) => {
    const key = /\{\{([A-Z_]+)\}\}/.exec(line)?.[1];
    return key === undefined || line.trimStart().startsWith('#') || key in values;
  });
  return lines.join('\n').replace(/\{\{([A-Z_]+)\}\}/g, (whole, key: string) => values[key] ?? whole);
}

/** The absolute path of sshd (it refuses to re-exec from a relative path). */
export function findSshd(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = ['/usr/sbin', '/usr/local/sbin', '/sbin', ...(env.PATH ?? '').split(delimiter).filter(Boolean)];
  return dirs.map((d) => join(d, 'sshd')).find((p) => p.startsWith('/') && existsSync(p));
}

/** A free TCP port on 127.0.0.1 (the kernel picks; sshd binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Creates sshd's privilege separation directory when running as root, only if it is missing. */
export async function ensurePrivsepDir(): Promise<void> {
  if (process.getuid?.() !== 0 || existsSync('/run/sshd')) return;
  await mkdir('/run/sshd', { mode: 0o755 });
}

export interface StartOptions {
  sshd: string;
  configFile: string;
  logFile: string;
  pidFile: string;
  timeoutMs?: number;
  clock?: Pick<Clock, 'now'>;
  /** Tests: start it inside this network namespace (`ip netns exec`), reachable only from within. */
  netns?: string | undefined;
}

/** Starts a daemonizing sshd and waits for its pid file (written once it listens). Returns its pid. */
export async function startSshd(options: StartOptions): Promise<number> {
  // Through sh only to set umask 077, which every session inherits (sshd has no umask setting and runs without PAM);
  // `exec` leaves sshd's own command line (`<sshd> -f <config> -E <log>`), which isOurSshd proves ownership by.
  const args = ['-c', 'umask 077 && exec "$0" "$@"', options.sshd, '-f', options.configFile, '-E', options.logFile];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = options.netns
      ? spawn('ip', ['netns', 'exec', options.netns, '/bin/sh', ...args], { stdio: 'ignore', detached: true })
      : spawn('/bin/sh', args, { stdio: 'ignore', detached: true });
    child.on('error', reject);
    child.on('exit', (c) => resolve(c));
  });
  const logTail = (): string => {
    try {
      return readFileSync(options.logFile, 'utf8').trim().split('\n').at(-1) ?? '';
    } catch {
      return '';
    }
  };
  if (code !== 0) throw new CrabboxError('provider_error', `sshd did not start (exit ${code}): ${logTail() || 'no log'}`);
  const clock = options.clock ?? systemClock;
  const deadline = clock.now() + (options.timeoutMs ?? 10_000);
  while (clock.now() < deadline) {
    const pid = await readPid(options.pidFile);
    if (pid !== undefined && isOurSshd(pid, options.configFile)) return pid;
    if (/Cannot bind|Address already in use/.test(logTail())) break;
    await sleep(25);
  }
  throw new CrabboxError('provider_error', `sshd did not come up: ${logTail() || 'no pid file'}`);
}

export async function readPid(pidFile: string): Promise<number | undefined> {
  const text = readSmall(pidFile)?.trim();
  return text !== undefined && /^\d{1,10}$/.test(text) ? Number(text) : undefined;
}

/** Proof by /proc/<pid>/cmdline that a pid is an sshd started with exactly our config file. */
export function isOurSshd(pid: number, configFile: string): boolean {
  const argv = commandLine(pid);
  if (!argv) return false;
  const line = argv.join(' ');
  return /(^|\/|\s)sshd(:|\s|$)/.test(line) && (line.includes(`-f ${configFile} `) || line.endsWith(`-f ${configFile}`));
}

/**
 * Stops our sshd (only after proving it is ours) and every process below it. Returns whether one was running.
 * A pid file naming some other process is ignored: that pid was reused and is not ours.
 */
export async function stopSshd(pidFile: string, configFile: string): Promise<boolean> {
  const pid = await readPid(pidFile);
  // The pid file may be missing (sshd started but its machine dir went, or it never got to write one): the command
  // line still names our config, so those are found by a scan of /proc.
  const pids = new Set(sshdsWithConfig(configFile));
  if (pid !== undefined && isOurSshd(pid, configFile)) pids.add(pid);
  for (const one of pids) await stopOne(one, configFile);
  return pids.size > 0;
}

async function stopOne(pid: number, configFile: string): Promise<void> {
  const below = descendants(pid);
  signal(pid, 'SIGTERM');
  for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(20);
  if (isAlive(pid) && isOurSshd(pid, configFile)) signal(pid, 'SIGKILL');
  await killAll(below);
}

/** The config file an sshd listener was started with (`-f <path>`), or undefined for anything else. */
export function sshdConfigOf(pid: number): string | undefined {
  const argv = commandLine(pid);
  if (!argv) return undefined;
  // Once listening, sshd rewrites its command line to one string: `sshd: /usr/sbin/sshd -f <config> ... [listener] ...`.
  return /^(?:sshd: )?(?:\S*\/)?sshd -f (\S+)(?: |$)/.exec(argv.join(' '))?.[1];
}

/** Every live sshd listener started with exactly this config file. */
export function sshdsWithConfig(configFile: string): number[] {
  return listProcesses().map((p) => p.pid).filter((pid) => sshdConfigOf(pid) === configFile && isAlive(pid));
}

/** SIGKILLs processes and waits (bounded) until they are gone. */
export async function killAll(pids: number[]): Promise<void> {
  for (const pid of pids) signal(pid, 'SIGKILL');
  for (let i = 0; i < 100 && pids.some(isAlive); i++) await sleep(20);
}

/** Writes the rendered config (0600). */
export async function writeSshdConfig(file: string, text: string): Promise<void> {
  await writeFile(file, text, { mode: 0o600 });
}

