import { homedir } from 'node:os';
import { CrabboxError } from '../../domain/errors.ts';
import { PUBLIC_KEY_PATTERN, STATIC_HOST_PATTERN, STATIC_WORK_ROOT_PATTERN } from '../../config/schema.ts';

/** One `static.hosts` entry as the config holds it. */
export interface StaticHostConfig {
  host: string;
  port?: number | undefined;
  user: string;
  workRoot?: string | undefined;
  hostKey?: string | undefined;
  identityFile?: string | undefined;
  leaseUsers?: boolean | undefined;
  sudo?: boolean | undefined;
}

/** A static host checked and completed: every value is safe to hand to ssh and the remote scripts. */
export interface StaticHost {
  /** `host:port` (`[v6]:port`), for messages and as a stable name. */
  name: string;
  host: string;
  port: number;
  user: string;
  /** As configured (`~/...` is resolved on the host). */
  workRoot: string;
  /** `type base64`, without comment. */
  hostKey: string;
  /** Absolute path of the admin key that installs and removes lease keys. */
  identityFile: string;
  /**
   * Each lease logs in as its own Unix user `cbx-<lease hex>` (made and removed as root by pool-box.sh) instead of as
   * `user`, which is then only Crabbox's admin account on the host (docs/providers/ssh.md).
   */
  leaseUsers: boolean;
  /** With leaseUsers: the lease user may sudo (the host entry's choice, never a request's; decision 0060). */
  sudo: boolean;
}

export const DEFAULT_STATIC_WORK_ROOT = '~/crabbox-work';

const USER = /^[a-z_][a-z0-9_-]{0,31}$/;

function refuse(where: string, message: string, hint?: string): never {
  throw new CrabboxError('invalid_config', `static.hosts: ${where}: ${message}`, hint ? { hint } : {});
}

/**
 * Checks every configured host before any ssh runs (the schema checks too; this guards callers that skip it)
 * and refuses a host without a pinned host key: Crabbox never trusts a static host's key on first use.
 */
export function resolveStaticHosts(entries: readonly StaticHostConfig[] | undefined, home = homedir()): StaticHost[] {
  if (!entries || entries.length === 0) {
    refuse('none configured', 'the ssh provider needs at least one host in static.hosts of your user config', 'see docs/providers/ssh.md');
  }
  const seen = new Set<string>();
  return entries.map((entry, index) => {
    const at = `host ${index + 1}`;
    if (!STATIC_HOST_PATTERN.test(entry.host)) refuse(at, `host ${JSON.stringify(entry.host)} is not a host name or IP address`);
    if (!USER.test(entry.user)) refuse(at, `user ${JSON.stringify(entry.user)} is not a Unix user name`);
    const port = entry.port ?? 22;
    if (!Number.isInteger(port) || port < 1 || port > 65535) refuse(at, `port ${port} is out of range`);
    const name = entry.host.includes(':') ? `[${entry.host}]:${port}` : `${entry.host}:${port}`;
    if (seen.has(name)) refuse(name, 'listed twice');
    seen.add(name);
    const workRoot = entry.workRoot ?? DEFAULT_STATIC_WORK_ROOT;
    if (!STATIC_WORK_ROOT_PATTERN.test(workRoot)) refuse(name, `workRoot ${JSON.stringify(workRoot)} must be an absolute or ~/ path of plain characters without ..`);
    const key = entry.hostKey?.trim() ?? '';
    if (!key) {
      refuse(name, 'no hostKey configured; Crabbox pins every static host key and never trusts one on first use',
        `get it with \`ssh-keyscan -t ed25519 -p ${port} ${entry.host}\`, compare its fingerprint with \`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\` run on the host, then set hostKey`);
    }
    if (!PUBLIC_KEY_PATTERN.test(key)) refuse(name, 'hostKey is not an OpenSSH public key line such as "ssh-ed25519 AAAA..."');
    const identity = entry.identityFile;
    if (!identity) refuse(name, 'no identityFile configured: the key Crabbox uses to add and remove lease keys on the host', 'set identityFile to a private key the host user accepts');
    if (!/^(?:\/|~\/)[^\s"'\\]+$/.test(identity)) refuse(name, 'identityFile must be an absolute or ~/ path without spaces or quotes');
    if (entry.sudo && !entry.leaseUsers) {
      refuse(name, 'sudo: true needs leaseUsers: true (without it a lease logs in as the host user and has exactly what that user has)');
    }
    return {
      name,
      host: entry.host,
      port,
      user: entry.user,
      workRoot,
      hostKey: key.split(/\s+/).slice(0, 2).join(' '),
      identityFile: identity.startsWith('~/') ? `${home.replace(/\/+$/, '')}/${identity.slice(2)}` : identity,
      leaseUsers: entry.leaseUsers === true,
      sudo: entry.sudo === true,
    };
  });
}
