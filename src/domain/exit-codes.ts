/**
 * Crabbox's own exit codes. They sit in the sysexits range (64-78) so they never collide with the
 * codes test runners and shells commonly use (0, 1, 2, 126, 127, 128+signal). A remote command's
 * exit code is passed through unchanged; `--json` tells the two apart with `source`.
 */
export const ExitCode = {
  ok: 0,
  /** A flag, argument or option value is wrong. */
  usage: 64,
  /** Input data (a file, a report, a request body) is malformed. */
  dataError: 65,
  /** The lease, run or machine named does not exist (or is not yours). */
  notFound: 66,
  /** A provider, the coordinator or the box cannot be reached or refused the work. */
  unavailable: 69,
  /** A bug in crabbox. */
  internal: 70,
  /** A required local program (ssh, rsync, git, sshd) is missing or failed. */
  osError: 71,
  /** Syncing files to the box failed. */
  syncFailed: 73,
  /** SSH to the box failed (connection, host key mismatch). */
  sshFailed: 74,
  /** Temporary: a lock is held, a deadline passed, a cap is reached. Try again later. */
  tempFail: 75,
  /** Authentication or authorization failed. */
  noPermission: 77,
  /** A config file or config value is invalid. */
  config: 78,
  /** Interrupted by Ctrl-C (SIGINT) before the remote command reported an exit code. */
  interrupted: 130,
} as const;

export type ExitCodeName = keyof typeof ExitCode;
