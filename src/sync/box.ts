import type { ChildProcessWithoutNullStreams } from 'node:child_process';

/**
 * What sync and run need from a lease's SSH connection. The ssh module implements it over one ControlMaster per
 * lease; tests implement it with a local shell, so real rsync and the real wrapper run without sshd.
 */
export interface BoxConnection {
  /** Starts `command` through the box user's login shell, stdio piped. The child must not share our process group. */
  exec(command: string): ChildProcessWithoutNullStreams;
  /** rsync's `-e` value (a command line rsync splits on spaces and quotes) and the `host` part of `host:path`. */
  rsync: { rsh: string; host: string };
  /** The box is this computer: rsync compression only costs CPU. */
  local: boolean;
}

/** Quotes argv for rsync's `-e`, which splits on whitespace and honours single and double quotes. */
export function rshCommand(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9@%_+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'"'"'`)}'`)).join(' ');
}
