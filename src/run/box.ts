import { spawn } from 'node:child_process';
import { connect, rsyncRsh, sshArgv, type SshTarget } from '../ssh/index.ts';
import { SSH_PROGRAM } from '../ssh/exec.ts';
import type { BoxConnection } from '../sync/box.ts';

/** A BoxConnection over the lease's ssh target: one ControlMaster, pinned host key, the same options for rsync. */
export async function sshBox(target: SshTarget, options: { local: boolean; signal?: AbortSignal | undefined }): Promise<BoxConnection> {
  const port = await connect(target, { signal: options.signal });
  return {
    // Own process group: a terminal Ctrl-C reaches only crabbox, which then stops the remote command in order.
    exec: (command) => spawn(SSH_PROGRAM, sshArgv(target, port, command), { stdio: ['pipe', 'pipe', 'pipe'], detached: true }),
    rsync: { rsh: rsyncRsh(target, port), host: target.host },
    local: options.local,
  };
}
