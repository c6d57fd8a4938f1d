import { leaseKeyPaths } from './keys.ts';
import { controlPathFor } from './control-dir.ts';
import { shellQuote } from './quote.ts';

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
}

/** Builds the target for a lease from its key directory and its machine. */
export function leaseTarget(options: { keyDir: string; leaseId: string; host: string; ports: number[]; user: string; connectTimeoutSeconds: number }): SshTarget {
  const paths = leaseKeyPaths(options.keyDir);
  return {
    host: options.host,
    ports: options.ports,
    user: options.user,
    identityFile: paths.identity,
    knownHostsFile: paths.knownHosts,
    controlPath: controlPathFor(options.keyDir, options.leaseId),
    connectTimeoutSeconds: options.connectTimeoutSeconds,
  };
}

/** ssh reads `-o` values as config lines; quote values that contain spaces. */
function opt(name: string, value: string | number): string[] {
  const text = String(value);
  return ['-o', `${name}=${/\s/.test(text) ? `"${text.replace(/"/g, '')}"` : text}`];
}

/**
 * The ssh options every call uses: no user ssh config, no forwarding, key-only with the lease key,
 * strict checking against the pinned known_hosts, keepalives and one ControlMaster per lease.
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
    ...(target.oneShot
      ? [...opt('ControlMaster', 'no'), ...opt('ControlPath', 'none')]
      : [...opt('ControlMaster', 'auto'), ...opt('ControlPath', target.controlPath), ...opt('ControlPersist', target.controlPersistSeconds ?? 300)]),
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

/** The same as a string for `rsync -e`, each word shell-quoted (rsync splits it like a shell). */
export function rsyncRsh(target: SshTarget, port: number): string {
  return shellQuote(rsyncRshArgv(target, port));
}
