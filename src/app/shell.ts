import type { Readable, Writable } from 'node:stream';
import { parseLeaseRef } from '../domain/ids.ts';
import { shellQuote, shellQuoteWord, sshExec } from '../ssh/index.ts';
import { isConnectionFailure, leaseRefusal } from '../ssh/errors.ts';
import { gitTopLevel } from '../sync/git.ts';
import { workspaceFor } from '../sync/workspace.ts';
import type { AppContext } from './context.ts';
import { leaseSession } from './session.ts';

/** Where an ssh session's streams go: the real terminal (`inherit`) or the given streams. */
export interface ShellStreams {
  stdin: Readable | 'inherit';
  stdout: Writable | 'inherit';
  stderr: Writable | 'inherit';
  /** Ask for a terminal (an interactive shell on a real TTY). */
  tty: boolean;
}

/**
 * Opens a shell on a leased box, or runs `command` there, and returns its exit code. The lease is touched first, as
 * `run --id` does (src/leases/service.ts `acquire`): in direct mode not when this computer touched it moments ago,
 * and then a failed connection asks the provider why; in brokered mode the coordinator answers before ssh starts.
 * Not an MCP tool: `run` is how an agent runs a command (synced, recorded, redacted).
 */
export async function shell(ctx: AppContext, input: { lease: string; provider?: string | undefined; command?: string[] | undefined }, streams: ShellStreams): Promise<number> {
  parseLeaseRef(input.lease); // refuse a hostile ref before anything runs or changes
  const repoRoot = gitTopLevel(ctx.cwd).catch(() => undefined);
  const { leases } = await leaseSession(ctx, { provider: input.provider });
  const handle = await leases.acquire(input.lease);
  const lease = handle.confirm ? await handle.confirm() : handle.lease;
  const root = await repoRoot;
  const workdir = root && lease.machine ? workspaceFor({ workRoot: lease.machine.workRoot, leaseId: lease.id, repoRoot: root }).workdir : undefined;
  // On a lease not asked about, ssh's own failure (an error, or 255) may be a box gone behind our back: its provider
  // says why when it refuses the lease, else the failure stands.
  const refusal = (): Promise<Error | undefined> => (handle.recent && !handle.confirm ? leaseRefusal(leases.touch(lease.id)) : Promise.resolve(undefined));
  const { exitCode } = await sshExec(leases.target(lease), remoteCommand(input.command, workdir), streams).catch(async (error: unknown) => {
    throw (isConnectionFailure(error) ? await refusal() : undefined) ?? error;
  });
  const refused = exitCode === 255 ? await refusal() : undefined;
  if (refused) throw refused;
  return exitCode;
}

/**
 * The remote command line: the shell or the command starts in this checkout's folder on the box when it is there
 * (from a checkout that was synced to the lease), else in the box user's home as before.
 */
export function remoteCommand(command: string[] | undefined, workdir: string | undefined): string | undefined {
  const cd = workdir ? `cd -- ${shellQuoteWord(workdir)} 2>/dev/null; ` : '';
  if (command?.length) return `${cd}${shellQuote(command)}`;
  return workdir ? `${cd}exec "\${SHELL:-/bin/sh}" -l` : undefined;
}
