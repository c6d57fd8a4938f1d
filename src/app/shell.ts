import type { Readable, Writable } from 'node:stream';
import { parseLeaseRef } from '../domain/ids.ts';
import { sshExec } from '../ssh/index.ts';
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
 * Opens a shell on a leased box, or runs `command` there (touching the lease first), and returns its exit code.
 * Not an MCP tool: `run` is how an agent runs a command (synced, recorded, redacted).
 */
export async function shell(ctx: AppContext, input: { lease: string; provider?: string | undefined; command?: string[] | undefined }, streams: ShellStreams): Promise<number> {
  parseLeaseRef(input.lease); // refuse a hostile ref before anything runs or changes
  const { leases } = await leaseSession(ctx, { provider: input.provider });
  const lease = await leases.touch(input.lease);
  const { exitCode } = await sshExec(leases.target(lease), input.command?.length ? input.command : undefined, streams);
  return exitCode;
}
