import { CrabboxError } from '../domain/errors.ts';

/** What an ssh failure means for the caller: a pinned-key refusal is final, the rest may be a box still booting. */
export type SshFailureKind = 'host_key' | 'auth' | 'connect' | 'other';

const HOST_KEY = /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed|No [A-Z0-9-]+ host key is known|host key for .* has changed/i;
const AUTH = /Permission denied \(|Too many authentication failures/;
const CONNECT = /Connection refused|Connection timed out|Connection reset|Connection closed|Operation timed out|No route to host|Network is unreachable|kex_exchange_identification|Could not resolve hostname|banner exchange|Connection to .* closed by remote host|mux_client|Control socket connect/i;

/** Classifies ssh's own stderr (LogLevel=ERROR) after ssh exited 255. */
export function classifySshFailure(stderr: string): SshFailureKind {
  if (HOST_KEY.test(stderr)) return 'host_key';
  if (AUTH.test(stderr)) return 'auth';
  if (CONNECT.test(stderr)) return 'connect';
  return 'other';
}

/** True when stderr ends the way ssh itself fails, so a 255 is ssh's and not the remote command's. */
export function looksLikeSshFailure(stderrTail: string): boolean {
  return classifySshFailure(stderrTail) !== 'other' || /^ssh: /m.test(stderrTail);
}

/** The last meaningful line ssh printed, for a one-line error. */
export function lastSshLine(stderr: string): string {
  const lines = stderr.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !/^@+$/.test(l) && !l.startsWith('@'));
  return (lines.at(-1) ?? 'ssh exited 255 without a message').slice(0, 200);
}

/** The one error for a host key that does not match the pinned key (or no certificate of the host CA). Never retried. */
export function hostKeyMismatch(where: string, certified = false): CrabboxError {
  if (certified) {
    return new CrabboxError('host_key_mismatch', `host ${where} presented no host certificate from this installation's host CA; refusing to connect`, {
      hint: 'the box is not the one that was leased (or was rebuilt); release it with `crabbox stop` and lease a new one',
    });
  }
  return new CrabboxError('host_key_mismatch', `host key of ${where} does not match the key pinned for this lease; refusing to connect`, {
    hint: 'the box is not the one that was leased (or was rebuilt); release it with `crabbox stop` and lease a new one',
  });
}

/** Turns a classified ssh failure into the error users see. */
export function sshFailure(kind: SshFailureKind, where: string, stderr: string, certified = false): CrabboxError {
  if (kind === 'host_key') return hostKeyMismatch(where, certified);
  const what = kind === 'auth' ? 'the box refused the lease key' : lastSshLine(stderr);
  return new CrabboxError('ssh_failed', `ssh to ${where} failed: ${what}`, { detail: { kind } });
}

/** A failure to reach or log in to the box (rather than of the sync or the command): the box may be gone. */
export function isConnectionFailure(error: unknown): boolean {
  return error instanceof CrabboxError && (error.code === 'ssh_failed' || error.code === 'host_key_mismatch' || error.code === 'timeout');
}

/**
 * What asking about a lease (a touch, the coordinator's heartbeat) says when it refuses the lease (ended, gone,
 * someone else's): that is why the box could not be reached. Undefined when the lease is live or the asking failed
 * itself (an unreachable provider explains nothing).
 */
export async function leaseRefusal(asked: Promise<unknown> | undefined): Promise<CrabboxError | undefined> {
  return asked?.then(() => undefined, (why: unknown) => (why instanceof CrabboxError && why.code !== 'provider_error' ? why : undefined));
}
