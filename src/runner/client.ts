import { connect } from 'node:net';
import type { Writable } from 'node:stream';
import type { Clock } from '../domain/clock.ts';
import { ExitCode } from '../domain/exit-codes.ts';
import { buildId } from './build-id.ts';
import { frame, onFrames } from './frames.ts';
import type { RefusalReason, RunnerRequest } from './request.ts';
import { noRunnerDirYet, runnerSocketPath } from './socket-path.ts';

export type RunnerOutcome =
  /** The runner ran the command; this is its exit code. */
  | { served: true; code: number }
  /** Nothing ran: the caller runs the command itself, and starts a runner afterwards when `start` says so. */
  | { served: false; start: boolean; reason: string };

export interface RunnerClientIO {
  argv: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: Writable;
  stderr: Writable;
  clock: Clock;
  startedAt: number;
  /** Subscribes to the process's Ctrl-C / SIGTERM; returns the unsubscribe. */
  onSignal(handler: (sig: 'SIGINT' | 'SIGTERM') => void): () => void;
}

/** How long a runner has to accept or refuse before the client runs the command itself (nothing has run by then). */
const ANSWER_MS = 2_000;

/**
 * Hands `crabbox run --id …` to the warm runner for this checkout, if one answers, and relays its output and exit
 * code. Falls back (served: false) only while nothing has run: no runner, a runner of another build or environment,
 * or no answer in time. Once committed, the runner's exit code is the command's, and a runner that vanishes mid-run
 * is reported, never retried.
 */
export function runViaRunner(io: RunnerClientIO): Promise<RunnerOutcome> {
  const path = runnerSocketPath(io.env, io.cwd);
  if (!path) {
    const start = noRunnerDirYet(io.env, io.cwd);
    return Promise.resolve({ served: false, start, reason: start ? 'no runner yet' : 'no private directory for a runner socket' });
  }
  return new Promise((resolve) => {
    const socket = connect(path);
    let committed = false;
    let settled = false;
    const finish = (outcome: RunnerOutcome): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      unsubscribe();
      socket.destroy();
      resolve(outcome);
    };
    const timer = io.clock.setTimeout(() => finish({ served: false, start: false, reason: 'the runner did not answer in time' }), ANSWER_MS);
    const unsubscribe = io.onSignal((sig) => {
      if (committed) {
        socket.write(frame('s', sig));
        return;
      }
      // Nothing has started: stop here, as the in-process run would before its first step.
      finish({ served: true, code: sig === 'SIGTERM' ? 143 : ExitCode.interrupted });
    });
    const write = (dest: Writable, bytes: Buffer): void => {
      if (!dest.write(bytes)) {
        socket.pause();
        dest.once('drain', () => socket.resume());
      }
    };
    socket.on('connect', () => {
      const request: RunnerRequest = { v: 1, build: buildId, argv: io.argv, cwd: io.cwd, env: io.env as Record<string, string>, startedAt: io.startedAt };
      socket.write(frame('q', JSON.stringify(request)));
    });
    onFrames(socket, (f) => {
      if (f.type === 'n' && !committed) {
        const { reason } = JSON.parse(f.payload.toString()) as { reason: RefusalReason; name?: string };
        finish({ served: false, start: reason === 'stale', reason: `the runner refused: ${reason}` });
      } else if (f.type === 'a' && !committed) {
        committed = true;
        timer.cancel();
        socket.write(frame('g', ''));
      } else if (f.type === 'o' && committed) write(io.stdout, f.payload);
      else if (f.type === 'e' && committed) write(io.stderr, f.payload);
      else if (f.type === 'x' && committed) {
        const { code } = JSON.parse(f.payload.toString()) as { code: number };
        finish({ served: true, code });
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (settled) return;
      if (!committed) return finish({ served: false, start: true, reason: 'no runner answers' });
      io.stderr.write('crabbox: the warm runner stopped before the command finished; its output above may be incomplete\n');
      finish({ served: true, code: ExitCode.internal });
    });
  });
}
