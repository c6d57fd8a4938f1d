import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findSshd, freePort, ensurePrivsepDir, renderSshdConfig, startSshd, stopSshd, templatePath, killAll } from '../providers/local/sshd.ts';
import { listProcesses } from '../providers/local/procs.ts';
import { lookupUser } from '../providers/local/users.ts';

/** A real "static host" for tests: a fresh Unix user and a private sshd on 127.0.0.1 (one or more ports). Needs root. */
export interface StaticHostFixture {
  user: string;
  home: string;
  ports: number[];
  /** The sshd's public host key line. */
  hostKey: string;
  /** The admin private key the host user accepts (the provider's identityFile). */
  identityFile: string;
  authorizedKeys: string;
  /** A host config entry for one of the ports. */
  entry(port: number, workRoot?: string): { host: string; port: number; user: string; hostKey: string; identityFile: string; workRoot?: string };
  stop(): Promise<void>;
}

/** The line every fixture's authorized_keys starts with, besides the admin key: release must never touch it. */
export const FOREIGN_KEY_LINE = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBb3gYv6ZQ3uYy6cQ0i7lq5m0r4s4x9yWZr8a1bC2d3E someone-else@laptop';

/** Runs useradd/userdel, retrying while another test holds the /etc/passwd lock (exit 10 / "cannot lock"). */
async function accountTool(argv: string[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      execFileSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
      return;
    } catch (error) {
      const stderr = String((error as { stderr?: Buffer }).stderr ?? '');
      if (attempt >= 50 || !/lock/i.test(stderr)) throw error;
      await sleep(100);
    }
  }
}

const keygen = (file: string, comment: string): string => {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  return readFileSync(`${file}.pub`, 'utf8').trim();
};

/**
 * Starts a static host fixture listening on `portCount` loopback ports. With `pool`, it is a host prepared for a warm
 * pool (docs/pool.md): its user may sudo without a password, and sshd lets lease users (`cbx-*`) in with the key in
 * `<pool.keysDir>/<user>` only. With `netns`, sshd runs inside that network namespace: 127.0.0.1 there, unreachable
 * from here except through a relay (src/testing/netns.ts).
 */
export async function startStaticHost(options: { portCount?: number; maxSessions?: number; pool?: { keysDir: string }; netns?: string } = {}): Promise<StaticHostFixture> {
  if (process.getuid?.() !== 0) throw new Error('the static host fixture needs root (it creates a Unix user and runs sshd)');
  const sshd = findSshd();
  if (!sshd) throw new Error('sshd not found');
  const dir = mkdtempSync('/var/tmp/crabbox-static-');
  chmodSync(dir, 0o711);
  const user = `cbxst${randomBytes(4).toString('hex')}`;
  const home = join(dir, 'home');
  mkdirSync(home, { mode: 0o755 });
  await accountTool(['useradd', '--no-create-home', '--home-dir', home, '--shell', '/bin/sh', '--user-group', '--password', '*', user]);
  const ids = lookupUser(user)!;
  const admin = join(dir, 'admin_ed25519');
  const adminKey = keygen(admin, 'crabbox-test-admin');
  const hostKeyFile = join(dir, 'host_ed25519');
  const hostKey = keygen(hostKeyFile, 'host').split(' ').slice(0, 2).join(' ');
  mkdirSync(join(home, '.ssh'), { mode: 0o700 });
  const authorizedKeys = join(home, '.ssh', 'authorized_keys');
  writeFileSync(authorizedKeys, `${FOREIGN_KEY_LINE}\n${adminKey}\n`, { mode: 0o600 });
  for (const path of [home, join(home, '.ssh'), authorizedKeys]) chownSync(path, ids.uid, ids.gid);

  const ports: number[] = [];
  for (let i = 0; i < (options.portCount ?? 1); i++) ports.push(await freePort());
  const configFile = join(dir, 'sshd_config');
  const pidFile = join(dir, 'sshd.pid');
  const text = renderSshdConfig(readFileSync(templatePath(), 'utf8'), { port: ports[0]!, hostKey: hostKeyFile, authorizedKeys: '.ssh/authorized_keys', pidFile, user });
  // `maxSessions` stands in for a host whose sshd keeps its own setting (stock OpenSSH: 10).
  let sessions = options.maxSessions === undefined ? text : text.replace(/^MaxSessions .*$/m, `MaxSessions ${options.maxSessions}`);
  const sudoers = `/etc/sudoers.d/crabbox-test-${user}`;
  if (options.pool) {
    sessions = `${sessions.replace(/^AllowUsers .*$/m, `AllowUsers ${user} cbx-*`).replace(/^SetEnv .*$/m, '')}\nMatch User cbx-*\n  AuthorizedKeysFile ${options.pool.keysDir}/%u\n`;
    writeFileSync(sudoers, `${user} ALL=(ALL) NOPASSWD:ALL\n`, { mode: 0o440 });
  }
  writeFileSync(configFile, sessions.replace(/^Port .*$/m, ports.map((p) => `Port ${p}`).join('\n')), { mode: 0o600 });
  await ensurePrivsepDir();
  await startSshd({ sshd, configFile, logFile: join(dir, 'sshd.log'), pidFile, netns: options.netns });

  return {
    user,
    home,
    ports,
    hostKey,
    identityFile: admin,
    authorizedKeys,
    entry: (port, workRoot) => ({ host: '127.0.0.1', port, user, hostKey, identityFile: admin, ...(workRoot ? { workRoot } : {}) }),
    async stop() {
      await stopSshd(pidFile, configFile);
      for (let round = 0; round < 5; round++) {
        const pids = listProcesses().filter((p) => p.uid === ids.uid).map((p) => p.pid);
        if (pids.length === 0) break;
        await killAll(pids);
      }
      if (lookupUser(user)) await accountTool(['userdel', user]);
      rmSync(sudoers, { force: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
