import { spawn, type StdioOptions } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { connect as connectUnix } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { CrabboxError } from '../domain/errors.ts';
import { systemClock, type Clock } from '../domain/clock.ts';
import { classifySshFailure, looksLikeSshFailure, sshFailure, type SshFailureKind } from './errors.ts';
import { shellQuote } from './quote.ts';
import { describeTransport } from '../domain/transport.ts';
import { sshArgv, sshOptions, type SshTarget } from './target.ts';

/** The ssh program; tests and odd installs can point elsewhere. */
export const SSH_PROGRAM = 'ssh';

interface Captured {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * How long a failed ssh's stderr may take to reach us after it exited. 'exit' can come before the pipe's last bytes
 * are read (seen under load: "Connection refused" lost, the error said only "ssh ended with 255").
 */
const STDERR_GRACE_MS = 1_000;

/** Runs ssh with no stdin, capturing stderr. Used for probes and control commands, never for user output. */
function capture(args: string[], signal?: AbortSignal, timeoutMs = 120_000, clock: Clock = systemClock): Promise<Captured> {
  return new Promise((resolve, reject) => {
    const child = spawn(SSH_PROGRAM, args, { stdio: ['ignore', 'ignore', 'pipe'], signal, timeout: timeoutMs });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < 16_384) stderr += b.toString();
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.name === 'AbortError') reject(new CrabboxError('interrupted', 'interrupted'));
      else if (error.code === 'ENOENT') reject(new CrabboxError('missing_tool', 'ssh not found', { hint: 'install openssh-client (run `crabbox doctor`)' }));
      else reject(error);
    });
    // 'exit', not 'close': a backgrounded ControlMaster may keep an inherited descriptor open. A failure's reason is
    // on stderr, so then the pipe's end is awaited (a failed ssh leaves no master holding it), for a bounded time.
    child.on('exit', (code, sig) => {
      const done = (): void => resolve({ code, signal: sig, stderr });
      if (code === 0 || child.stderr.readableEnded) return void setImmediate(done);
      const grace = clock.setTimeout(done, STDERR_GRACE_MS, { unref: true });
      child.stderr.once('end', () => {
        grace.cancel();
        done();
      });
    });
  });
}

/** `host:port`, and how it is reached when that is not direct (a proxy's own failures then read as such). */
const where = (target: SshTarget, port: number): string =>
  `${target.host}:${port}${target.transport && target.transport.kind !== 'direct' ? ` (${describeTransport(target.transport)})` : ''}`;

export type ProbeResult = { ok: true; port: number } | { ok: false; port: number; kind: SshFailureKind; stderr: string };

/** One attempt to run `true` on the box through the normal transport (it also starts the ControlMaster). */
export async function probe(target: SshTarget, port: number, signal?: AbortSignal): Promise<ProbeResult> {
  const result = await capture(sshArgv(target, port, 'true'), signal, (target.connectTimeoutSeconds + 15) * 1000);
  if (result.code === 0) return { ok: true, port };
  return { ok: false, port, kind: result.code === null ? 'connect' : classifySshFailure(result.stderr), stderr: result.stderr || `ssh ended with ${result.signal ?? result.code}` };
}

/**
 * Whether this lease's ControlMaster is up: a connect to its control socket, in process. That is what `ssh -O check`
 * learns from the master too (a socket left by a dead master refuses the connect), without a process on every run.
 */
export function masterAlive(target: SshTarget): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectUnix(target.controlPath);
    const done = (alive: boolean): void => {
      socket.destroy();
      resolve(alive);
    };
    // A Unix socket connect is answered at once: accepted by a listening master, refused (or EAGAIN) otherwise.
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * A proxy whose program is not installed fails the same way on every try: said at once, in the user's terms, instead
 * of being retried until the ready deadline.
 */
function missingProxyTool(target: SshTarget, stderr: string): CrabboxError | undefined {
  const kind = target.transport?.kind;
  if (kind !== 'proxy-command' && kind !== 'cloudflare') return undefined;
  const program = /exec: ([^\s:]+): (?:not found|No such file or directory)/.exec(stderr)?.[1];
  if (!program) return undefined;
  return kind === 'cloudflare'
    ? new CrabboxError('missing_tool', `this lease is reached through Cloudflare Access, and cloudflared is not installed here`, { hint: 'install cloudflared (docs/tunnel.md: "Logging in to Access on your laptop") and run the command again' })
    : new CrabboxError('missing_tool', `the proxy command's program ${program} was not found`, { hint: 'fix proxy.command in your user config (`crabbox config path`), or install it' });
}

/** The port that answered last for each control path, so later calls in this process start there. */
const workingPort = new Map<string, number>();

/**
 * Probes the primary port then each fallback: the first port that answers (remembered for later calls), else the
 * first failure. A host key mismatch fails at once; it is never retried on another port.
 */
async function probePorts(target: SshTarget, signal: AbortSignal | undefined): Promise<number | Extract<ProbeResult, { ok: false }> | undefined> {
  let first: Extract<ProbeResult, { ok: false }> | undefined;
  for (const port of target.ports) {
    const result = await probe(target, port, signal);
    if (result.ok) {
      workingPort.set(target.controlPath, port);
      return port;
    }
    if (result.kind === 'host_key') throw sshFailure('host_key', where(target, port), result.stderr, target.hostCertified);
    const missing = missingProxyTool(target, result.stderr);
    if (missing) throw missing;
    first ??= result;
  }
  return first;
}

/**
 * Makes sure the box answers: reuses a live ControlMaster, else tries the primary port then each fallback in order.
 * A host key mismatch fails at once; it is never retried on another port.
 */
export async function connect(target: SshTarget, options: { signal?: AbortSignal | undefined } = {}): Promise<number> {
  const known = workingPort.get(target.controlPath);
  if (await masterAlive(target)) return known ?? target.ports[0] ?? 22;
  const first = await probePorts(target, options.signal);
  if (typeof first === 'number') return first;
  if (!first) throw new CrabboxError('ssh_failed', `no ssh port known for ${target.host}`);
  throw sshFailure(first.kind, where(target, first.port), first.stderr, target.hostCertified);
}

export interface ExecOptions {
  /** Stdin for the remote command: a stream, text, `inherit` (the terminal) or `ignore` (default). */
  stdin?: Readable | string | Buffer | 'inherit' | 'ignore' | undefined;
  /** Where remote output goes; default: this process's streams. */
  stdout?: Writable | 'inherit' | undefined;
  stderr?: Writable | 'inherit' | undefined;
  /** Allocate a terminal (interactive shells). */
  tty?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

export interface ExecResult {
  /** The remote command's exit code, passed through unchanged. */
  exitCode: number;
  port: number;
}

/**
 * Runs a command on the box and streams its output. An argv is shell-quoted so the remote shell expands nothing;
 * a string is passed as a shell command line. Without a command, starts the login shell.
 * ssh's own failures (255 with ssh's message) raise ssh_failed/host_key_mismatch; any other code is the remote one.
 */
export async function sshExec(target: SshTarget, command: readonly string[] | string | undefined, options: ExecOptions = {}): Promise<ExecResult> {
  // A one-shot target skips the master check and probe: the command's own connection fails the same way a probe would.
  const port = target.oneShot ? (target.ports[0] ?? 22) : await connect(target, { signal: options.signal });
  const remote = command === undefined ? undefined : typeof command === 'string' ? command : shellQuote(command);
  const stdinMode = options.stdin === 'inherit' ? 'inherit' : options.stdin === undefined || options.stdin === 'ignore' ? 'ignore' : 'pipe';
  const stdio: StdioOptions = [stdinMode, options.stdout === 'inherit' ? 'inherit' : 'pipe', options.stderr === 'inherit' ? 'inherit' : 'pipe'];
  const child = spawn(SSH_PROGRAM, sshArgv(target, port, remote, { tty: options.tty }), { stdio });
  let tail = '';
  const out = options.stdout === undefined ? process.stdout : options.stdout;
  const err = options.stderr === undefined ? process.stderr : options.stderr;
  if (child.stdout && out !== 'inherit') child.stdout.pipe(out, { end: false });
  if (child.stderr && err !== 'inherit') {
    child.stderr.on('data', (b: Buffer) => {
      tail = (tail + b.toString()).slice(-2048);
      err.write(b);
    });
  }
  if (child.stdin) {
    const input = options.stdin;
    child.stdin.on('error', () => undefined);
    if (typeof input === 'string' || Buffer.isBuffer(input)) child.stdin.end(input);
    else if (input && typeof input === 'object') input.pipe(child.stdin);
  }
  const onAbort = (): void => void child.kill('SIGTERM');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.on('error', (error: NodeJS.ErrnoException) =>
        reject(error.code === 'ENOENT' ? new CrabboxError('missing_tool', 'ssh not found', { hint: 'install openssh-client (run `crabbox doctor`)' }) : error));
      child.on('close', (c, s) => resolve({ code: c, signal: s }));
      // A multiplexed client hands its stdio to the ControlMaster, which keeps our pipes open while the remote
      // command runs; once we killed the client, stop waiting for them.
      child.on('exit', (c, s) => {
        if (!options.signal?.aborted) return;
        child.stdout?.destroy();
        child.stderr?.destroy();
        resolve({ code: c, signal: s });
      });
    });
    if (options.signal?.aborted) throw new CrabboxError('interrupted', 'interrupted; the remote command was stopped');
    if (code === null) throw new CrabboxError('ssh_failed', `ssh to ${where(target, port)} was killed by ${signal ?? 'a signal'}`);
    if (code === 255 && looksLikeSshFailure(tail)) {
      const kind = classifySshFailure(tail);
      throw sshFailure(kind === 'other' ? 'connect' : kind, where(target, port), tail, target.hostCertified);
    }
    return { exitCode: code, port };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** Runs a command on the box and returns its output as text (for small outputs: probes, status). */
export async function sshCapture(target: SshTarget, command: readonly string[] | string, options: { stdin?: string; signal?: AbortSignal } = {}): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const { PassThrough } = await import('node:stream');
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks: Buffer[] = [];
  const errs: Buffer[] = [];
  out.on('data', (b: Buffer) => chunks.push(b));
  err.on('data', (b: Buffer) => errs.push(b));
  const { exitCode } = await sshExec(target, command, { stdin: options.stdin ?? 'ignore', stdout: out, stderr: err, signal: options.signal });
  return { exitCode, stdout: Buffer.concat(chunks).toString(), stderr: Buffer.concat(errs).toString() };
}

/**
 * Waits until the box answers over the same ssh transport, up to `deadline` (epoch ms on `clock`).
 * Connection and auth failures are retried (a box may still be booting); a host key mismatch fails at once.
 */
export async function waitReady(target: SshTarget, deadline: number, options: { clock?: Clock; signal?: AbortSignal; intervalMs?: number } = {}): Promise<number> {
  const clock = options.clock ?? systemClock;
  let interval = options.intervalMs ?? 200;
  for (;;) {
    const last = await probePorts(target, options.signal);
    if (typeof last === 'number') return last;
    if (clock.now() >= deadline) {
      const why = last ? sshFailure(last.kind, where(target, last.port), last.stderr, target.hostCertified).message : 'no port';
      throw new CrabboxError('timeout', `box did not become ready in time (${why})`);
    }
    await clock.sleep(Math.min(interval, Math.max(deadline - clock.now(), 0)), options.signal).catch(() => {
      throw new CrabboxError('interrupted', 'interrupted while waiting for the box');
    });
    interval = Math.min(interval * 2, 2000);
  }
}

/** Stops the lease's ControlMaster (`ssh -O exit`) and removes its socket. Safe when none is running. */
export async function closeMaster(target: SshTarget): Promise<void> {
  await capture([...sshOptions(target, target.ports[0] ?? 22), '-O', 'exit', '--', target.host], undefined, 10_000).catch(() => undefined);
  workingPort.delete(target.controlPath);
  if (target.oneShot || target.controlPath === 'none') return;
  await rm(target.controlPath, { force: true }).catch(() => undefined);
}
