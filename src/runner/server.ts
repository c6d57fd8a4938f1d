import { lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Readable, Writable } from 'node:stream';
import type { CliIO } from '../cli/context.ts';
import type { InterruptName } from '../cli/interrupts.ts';
import type { Clock } from '../domain/clock.ts';
import { frame, frameHeader, onFrames } from './frames.ts';
import { ownArgs, parseRequest, runnerEligible, runtimeEnvDifference, type RefusalReason } from './request.ts';

export interface RunnerDeps {
  socketPath: string;
  /** The checkout this runner serves; a request from another directory is refused. */
  cwd: string;
  /** The runner's own environment; a request whose Node or libuv settings differ is refused. */
  env: NodeJS.ProcessEnv;
  /**
   * Makes the process's environment the request's for the length of one run and returns the undo (parts of the CLI
   * read `process.env`, and child processes inherit it); runs are one at a time for this reason.
   */
  adoptEnv(env: NodeJS.ProcessEnv): () => void;
  build: string;
  clock: Clock;
  /** The CLI's main, run once per accepted request with that request's IO. */
  main(io: CliIO): Promise<number>;
  /** Exit after this long without a request (default 10 minutes). */
  idleMs?: number;
  /** How often to look for idleness and for the socket having been removed or taken over (default 5 s). */
  checkMs?: number;
}

export interface Runner {
  /** Resolves with why the runner stopped: `idle`, `stale`, `socket gone` or `closed`. */
  stopped: Promise<string>;
  /** Stops accepting, relays SIGTERM to running commands and resolves once they are done. */
  close(): Promise<void>;
}

/** A request has this long to arrive after connecting. */
const REQUEST_MS = 5_000;

/** Another live runner answers on this path (so this one must not take it). */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.on('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.on('error', () => resolve(false));
  });
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * The warm runner: a background process that keeps the CLI's modules loaded and serves `crabbox run --id` for one
 * checkout and one environment, so a warm rerun costs a small client's start instead of the whole CLI's. Each request
 * runs the CLI's own `main` with the client's argv, environment, start time and streams, so output, exit codes,
 * `--json` and timings are the same as in-process; anything else is refused before it runs.
 */
export async function startRunner(deps: RunnerDeps): Promise<Runner> {
  const idleMs = deps.idleMs ?? 600_000;
  const active = new Set<(sig: InterruptName) => void>();
  let lastUsed = deps.clock.now();
  let stop!: (reason: string) => void;
  const stopped = new Promise<string>((resolve) => {
    stop = resolve;
  });
  let closing: Promise<void> | undefined;
  /** A request accepted and not yet committed holds the runner (one run at a time). */
  let reserved = false;
  /** Set while a shutdown waits for the running command to end. */
  let drained: (() => void) | undefined;

  const server = createServer((socket) => serve(socket));
  try {
    await listen(server, deps.socketPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || (await answers(deps.socketPath))) throw error;
    unlinkSync(deps.socketPath); // a dead runner's socket
    await listen(server, deps.socketPath);
  }
  const inode = lstatSync(deps.socketPath).ino;

  const check = deps.clock.setInterval(() => {
    let ours = false;
    try {
      ours = lstatSync(deps.socketPath).ino === inode;
    } catch {
      // removed (the state dir went, or someone cleaned up)
    }
    if (!ours) void shutdown('socket gone', false);
    else if (active.size === 0 && deps.clock.now() - lastUsed >= idleMs) void shutdown('idle');
  }, deps.checkMs ?? 5_000, { unref: true });

  /**
   * Stops the runner: running commands get SIGTERM (as in-process) and are waited for. Closing the server removes
   * its path (Node unlinks a Unix socket on close), so it is closed only while the path is still this runner's;
   * otherwise the listener is left to the process's exit and another runner's socket there stays.
   */
  function shutdown(reason: string, ownsPath = true): Promise<void> {
    closing ??= (async () => {
      check.cancel();
      let closed = Promise.resolve();
      // close() refuses new connections at once and calls back once the open ones (a running command's) end.
      if (ownsPath) closed = new Promise<void>((resolve) => server.close(() => resolve()));
      else server.unref();
      for (const relay of active) relay('SIGTERM');
      if (active.size > 0) await new Promise<void>((resolve) => (drained = resolve));
      await closed;
      stop(reason);
    })();
    return closing;
  }

  function serve(socket: Socket): void {
    let state: 'request' | 'commit' | 'running' | 'done' = 'request';
    let request: ReturnType<typeof parseRequest>;
    const deadline = deps.clock.setTimeout(() => socket.destroy(), REQUEST_MS);
    const refuse = (reason: RefusalReason, name?: string): void => {
      state = 'done';
      deadline.cancel();
      socket.end(frame('n', JSON.stringify({ reason, ...(name ? { name } : {}) })));
    };
    let relay: ((sig: InterruptName) => void) | undefined;
    socket.on('error', () => undefined);
    socket.on('close', () => {
      deadline.cancel();
      if (state === 'commit') reserved = false;
      // The client is gone (killed, or its second Ctrl-C): stop the command as a SIGTERM would.
      if (state === 'running') relay?.('SIGTERM');
    });
    onFrames(socket, (f) => {
      if (state === 'request' && f.type === 'q') {
        request = parseRequest(f.payload.toString());
        const terminals = { stdin: false, stdout: false, stderr: false };
        if (!request || !runnerEligible(request.argv, request.env, terminals)) return refuse('bad_request');
        if (request.build !== deps.build) {
          refuse('stale');
          void shutdown('stale');
          return;
        }
        if (request.cwd !== deps.cwd) return refuse('cwd');
        const differs = runtimeEnvDifference(request.env, deps.env);
        if (differs !== undefined) return refuse('env', differs);
        if (closing) return refuse('stale');
        if (active.size > 0 || reserved) return refuse('busy');
        reserved = true;
        state = 'commit';
        socket.write(frame('a', ''));
      } else if (state === 'commit' && f.type === 'g') {
        deadline.cancel();
        state = 'running';
        reserved = false;
        relay = run(socket, request!);
      } else if (state === 'running' && f.type === 's') {
        relay?.(f.payload.toString() === 'SIGTERM' ? 'SIGTERM' : 'SIGINT');
      } else if (state !== 'done') {
        // Out of turn: not a client of this protocol. (After a refusal, let the answer go out.)
        socket.destroy();
      }
    });
  }

  /** Runs one accepted request; returns how interrupts reach it. */
  function run(socket: Socket, request: NonNullable<ReturnType<typeof parseRequest>>): (sig: InterruptName) => void {
    let detached = false;
    const send = (type: 'o' | 'e', chunk: Buffer, done: (error?: Error | null) => void): void => {
      if (detached || socket.destroyed) return done();
      socket.write(frameHeader(type, chunk.length));
      if (socket.write(chunk)) done();
      else socket.once('drain', () => done());
    };
    const stream = (type: 'o' | 'e'): Writable => new Writable({ write: (chunk: Buffer, _enc, done) => send(type, chunk, done) });
    const finish = (code: number): void => {
      if (detached) return;
      detached = true;
      if (!socket.destroyed) socket.end(frame('x', JSON.stringify({ code })));
    };
    const listeners = new Set<(sig: InterruptName) => void>();
    // Once the client has its exit code (a second interrupt), the command is already stopping: nothing more to relay.
    const relay = (sig: InterruptName): void => {
      if (detached) return;
      for (const listener of listeners) listener(sig);
    };
    active.add(relay);
    const restoreEnv = deps.adoptEnv(request.env);
    const stdout = stream('o');
    const stderr = stream('e');
    if (ownArgs(request.argv).includes('--debug')) stderr.write(`debug: served by the warm runner (pid ${process.pid})\n`);
    void deps
      .main({
        argv: request.argv,
        env: request.env,
        cwd: request.cwd,
        stdin: Readable.from([]),
        stdout,
        stderr,
        clock: deps.clock,
        startedAt: request.startedAt,
        interrupts: {
          listen(listener) {
            listeners.add(listener);
            return () => listeners.delete(listener);
          },
          // A second interrupt: the client leaves now; the command's cleanup goes on here.
          exitNow: (code) => finish(code),
        },
      })
      .catch(() => 70)
      .then(async (code) => {
        // What the command wrote goes out before its exit code.
        await Promise.all([stdout, stderr].map((s) => new Promise<void>((resolve) => s.end(() => resolve()))));
        finish(code);
        restoreEnv();
        active.delete(relay);
        lastUsed = deps.clock.now();
        if (active.size === 0) drained?.();
      });
    return relay;
  }

  return { stopped, close: () => shutdown('closed') };
}
