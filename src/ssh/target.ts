import { leaseKeyPaths } from './keys.ts';
import { controlPathFor } from './control-dir.ts';
import type { Transport } from '../domain/transport.ts';

/** Everything needed to reach one box over ssh with the lease's own key and pinned host key. */
export interface SshTarget {
  host: string;
  /** Ports to try in order: primary first, then fallbacks. */
  ports: number[];
  user: string;
  identityFile: string;
  /** The lease's SSH certificate beside the key (`id_ed25519-cert.pub`), when the coordinator signed one (docs/ssh-ca.md). */
  certificateFile?: string | undefined;
  knownHostsFile: string;
  /** The known_hosts trusts the coordinator's host CA for this box (`@cert-authority`) rather than a pinned key. */
  hostCertified?: boolean | undefined;
  /**
   * The ControlMaster socket for this lease (short: unix socket paths are limited to ~104 bytes), always in a directory
   * only this user can reach (see control-dir.ts); `none` turns multiplexing off.
   */
  controlPath: string;
  connectTimeoutSeconds: number;
  /** How long an idle master connection stays up after its last client. */
  controlPersistSeconds?: number | undefined;
  /**
   * One connection per command, no ControlMaster (controlPath is unused): for callers that run a single command per
   * host now and then, where checking, probing and closing a master costs more than the command. Only the first port.
   */
  oneShot?: boolean | undefined;
  /** How to reach the host (docs/tunnel.md); absent or `direct`: straight to `host` on each port. */
  transport?: Transport | undefined;
}

/** Builds the target for a lease from its key directory and its machine. */
export function leaseTarget(options: { keyDir: string; leaseId: string; host: string; ports: number[]; user: string; connectTimeoutSeconds: number; transport?: Transport | undefined }): SshTarget {
  const paths = leaseKeyPaths(options.keyDir);
  return {
    host: options.host,
    ports: options.ports,
    user: options.user,
    identityFile: paths.identity,
    knownHostsFile: paths.knownHosts,
    controlPath: controlPathFor(options.keyDir, options.leaseId),
    connectTimeoutSeconds: options.connectTimeoutSeconds,
    ...(options.transport && options.transport.kind !== 'direct' ? { transport: options.transport } : {}),
  };
}

/** ssh reads `-o` values as config lines; quote values that contain spaces. */
function opt(name: string, value: string | number): string[] {
  const text = String(value);
  return ['-o', `${name}=${/\s/.test(text) ? `"${text.replace(/"/g, '')}"` : text}`];
}

/**
 * The proxy option for a transport. ssh reads a ProxyCommand as the rest of its config line, so it is passed unquoted
 * (quotes would become part of the command); ssh expands %h and %p and runs it with the user's shell.
 */
function proxyOptions(transport: Transport | undefined): string[] {
  switch (transport?.kind) {
    case undefined:
    case 'direct':
      return [];
    case 'proxy-command':
      return ['-o', `ProxyCommand=${transport.command}`];
    case 'proxy-jump':
      return opt('ProxyJump', transport.jump);
    case 'cloudflare':
      // cloudflared finds the user's Access login, or a service token in TUNNEL_SERVICE_TOKEN_ID/_SECRET (env, never argv).
      return ['-o', 'ProxyCommand=cloudflared access ssh --hostname %h'];
  }
}

/**
 * OpenSSH 9.0-9.8 open with sntrup761x25519, a post-quantum hybrid whose reference code makes a handshake about 80 ms
 * slower here (ssh-keygen-free leases spend most of a fresh connection on it). Over loopback nothing crosses a network
 * to be recorded, so a box on this machine (`local`) drops it and gets curve25519, or on OpenSSH 9.9 and later
 * mlkem768x25519, which stays. A box anywhere else keeps OpenSSH's own order. Decision 0049.
 */
const LOOPBACK_KEX = '-sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com';

/** 127.0.0.0/8, ::1 and localhost: the connection never leaves this machine. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function kexOptions(target: SshTarget): string[] {
  const direct = !target.transport || target.transport.kind === 'direct';
  return direct && isLoopbackHost(target.host) ? opt('KexAlgorithms', LOOPBACK_KEX) : [];
}

/**
 * The ssh options every call uses: no user ssh config, no forwarding, key-only with the lease key,
 * strict checking against the pinned known_hosts, keepalives, one ControlMaster per lease and the lease's proxy, if any.
 */
export function sshOptions(target: SshTarget, port: number): string[] {
  return [
    '-F', '/dev/null',
    ...opt('BatchMode', 'yes'),
    ...opt('IdentitiesOnly', 'yes'),
    ...opt('IdentityFile', target.identityFile),
    ...(target.certificateFile ? opt('CertificateFile', target.certificateFile) : []),
    ...opt('IdentityAgent', 'none'),
    ...opt('PasswordAuthentication', 'no'),
    ...opt('KbdInteractiveAuthentication', 'no'),
    ...opt('UserKnownHostsFile', target.knownHostsFile),
    ...opt('GlobalKnownHostsFile', '/dev/null'),
    ...opt('StrictHostKeyChecking', 'yes'),
    ...opt('UpdateHostKeys', 'no'),
    ...opt('CheckHostIP', 'no'),
    ...opt('ForwardAgent', 'no'),
    ...opt('ForwardX11', 'no'),
    ...opt('ClearAllForwardings', 'yes'),
    ...opt('ConnectTimeout', target.connectTimeoutSeconds),
    ...opt('ServerAliveInterval', 15),
    ...opt('ServerAliveCountMax', 4),
    ...opt('LogLevel', 'ERROR'),
    ...kexOptions(target),
    ...(target.oneShot
      ? [...opt('ControlMaster', 'no'), ...opt('ControlPath', 'none')]
      : [...opt('ControlMaster', 'auto'), ...opt('ControlPath', target.controlPath), ...opt('ControlPersist', target.controlPersistSeconds ?? 300)]),
    ...proxyOptions(target.transport),
    '-p', String(port),
    '-l', target.user,
  ];
}

/** Full ssh argv (without the `ssh` program name) to run `remoteCommand` (already a shell string) on the target. */
export function sshArgv(target: SshTarget, port: number, remoteCommand?: string, options: { tty?: boolean } = {}): string[] {
  return [...sshOptions(target, port), options.tty ? '-tt' : '-T', '--', target.host, ...(remoteCommand === undefined ? [] : [remoteCommand])];
}

/** The rsh argv for rsync (`-e`): ssh with the same options; rsync appends the host and its own command. */
export function rsyncRshArgv(target: SshTarget, port: number): string[] {
  return ['ssh', ...sshOptions(target, port), '-T'];
}

/**
 * Quotes one word the way rsync splits `-e`: single or double quotes group, and a quote doubled inside them is that
 * quote; there is no backslash escape (a shell's `'\''` would reach ssh mangled).
 */
function rsyncQuoteWord(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, "''")}'`;
}

/** The same as a string for `rsync -e`, each word quoted for rsync's own splitting. */
export function rsyncRsh(target: SshTarget, port: number): string {
  return rsyncRshArgv(target, port).map(rsyncQuoteWord).join(' ');
}
