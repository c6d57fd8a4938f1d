import { Writable } from 'node:stream';
import type { Clock, TimerHandle } from '../domain/clock.ts';
import { CrabboxError, isCrabboxError } from '../domain/errors.ts';
import { plural } from '../domain/plural.ts';
import { ExitCode } from '../domain/exit-codes.ts';
import type { Lease } from '../domain/lease.ts';
import { heartbeatIntervalMs } from '../domain/lifecycle.ts';
import type { BoxConnection } from '../sync/box.ts';
import { startRemoteRun, type ProgressEvent, type RemoteRun, type RemoteRunResult, type RemoteSync } from '../sync/session.ts';
import { workspaceFor } from '../sync/workspace.ts';
import type { GitMeta } from '../sync/git-meta.ts';
import type { EnvPair } from '../env/select.ts';
import { mergeEnv, runEnv } from '../env/session.ts';
import type { LogTail } from '../runs/log-tail.ts';
import type { RunFinish, RunRecorder } from '../runs/recorder.ts';
import { runPhases, runSource } from './summary.ts';
import { isConnectionFailure, leaseRefusal } from '../ssh/errors.ts';

const TEE_HIGH_WATER_MARK = 1024 * 1024;
/** A write error on crabbox's own output (EPIPE: the reader went away) ends that output, not the run. */
const ignoreOutputError = (): void => undefined;
/** The same box as before: what a connection and the workspace depend on. */
function sameBox(a: Lease, b: Lease): boolean {
  const [x, y] = [a.machine, b.machine];
  return x !== undefined && y !== undefined && x.host === y.host && x.sshUser === y.sshUser && x.workRoot === y.workRoot && x.ports.join() === y.ports.join();
}

/** Phase durations of one run, in milliseconds. */
export interface RunTimings {
  /** From process start until leasing begins: start-up, config and (for a fresh lease) the local sync scan. */
  prepareMs: number;
  /** Finding or creating the lease and opening its ssh connection. */
  leaseMs: number;
  /** From the ssh exec until the command starts: lock, the box's check, the sync. */
  syncMs: number;
  commandMs: number;
  /** After the command: collecting results, finishing the record, releasing a fresh lease. */
  releaseMs: number;
  /** From process start (or runOnBox) to the end: the phases above add up to it. */
  totalMs: number;
}

/** The lease operations a run needs (the direct lease service, or a coordinator client later). */
export interface RunLeases<L extends Lease, T> {
  /** `recent`: the lease as this computer last touched it, not asked of its provider (src/leases/touched.ts). */
  acquire(ref: string | undefined, request: { keep: boolean; signal?: AbortSignal | undefined }): Promise<{ lease: L; target: T; fresh: boolean; recent?: boolean | undefined; confirm?: (() => Promise<L>) | undefined }>;
  touch(lease: L): Promise<L>;
  /** Asks the provider about a lease (a touch by its id): throws why it ended, or resolves when it is live. */
  recheck?(lease: L): Promise<unknown>;
  release(lease: L): Promise<unknown>;
}

export interface RunRequest<L extends Lease, T> {
  leases: RunLeases<L, T>;
  /** Opens the box connection for a lease's target. */
  connect(target: T, lease: L, signal: AbortSignal): Promise<BoxConnection>;
  /** Undefined: no record is kept. */
  recorder?: RunRecorder | undefined;
  /**
   * Runs after the command while the box is still leased, e.g. to collect JUnit reports with listBoxFiles and
   * readBoxFiles (src/sync/box-files.ts). A failure is a warning.
   */
  afterCommand?: ((box: BoxConnection, workdir: string, run: { exitCode: number; runId: string | undefined }) => Promise<void>) | undefined;
  /** Extra fields for the run record's finish call (a JUnit summary, what came back). */
  finishExtras?: (() => Pick<RunFinish, 'junit' | 'artifacts'>) | undefined;
  /** Receives the combined output for the record's log tail. */
  tail?: Pick<LogTail, 'write' | 'close' | 'snapshot'> | undefined;
  clock: Clock;
  /** When the process started, on `clock`'s time line: `total` counts from here. Default: when runOnBox is called. */
  startedAt?: number | undefined;
  /** `--id`: use this lease and never release it. */
  leaseRef?: string | undefined;
  keep: boolean;
  /**
   * Undefined with --no-sync. The scan may still be running: a fresh lease waits for it (the guardrails stop a run
   * before anything is leased); with `--id` it overlaps finding the lease and the box's own check.
   */
  sync: RemoteSync | undefined;
  /** Called once the exec on the box has started (its ssh is running), before the command's result. */
  execStarted?: (() => void) | undefined;
  /** The box's git metadata for a lease (src/sync/git-meta.ts); undefined: the box gets no .git. Only with sync. */
  git?: ((leaseId: string) => Promise<GitMeta | undefined>) | undefined;
  /** Names the remote workspace (the checkout's folder name). */
  repoRoot: string;
  command: { mode: 'argv' | 'shell'; args: string[] };
  /** `crabbox run -t`: the command runs on a terminal of this size; `onResize` reports the caller's new sizes. */
  pty?: {
    columns: number;
    rows: number;
    onResize?: ((listener: (columns: number, rows: number) => void) => () => void) | undefined;
    /** The caller's keys (a terminal in raw mode); they go to the command's terminal. */
    onInput?: ((listener: (bytes: Buffer) => void) => () => void) | undefined;
  } | undefined;
  recordCommand: boolean;
  /** What the allowlist and `--env` forward: secrets, registered with the redactor. */
  env: readonly EnvPair[];
  /** The caller's session context (src/env/session.ts); the run's own CRABBOX_* names are added here. */
  sessionEnv?: readonly EnvPair[] | undefined;
  lockWaitSeconds: number;
  stdout: Writable;
  stderr: Writable;
  /** Progress lines (stderr, TTY only) and warnings (always). */
  progress(line: string): void;
  warn(line: string): void;
  /** Overrides the heartbeat cadence (tests); default idle/3 clamped to 5-60 s. */
  heartbeatMs?: number | undefined;
  /** Debug lines (--debug). */
  debug?: ((line: string) => void) | undefined;
  /** Aborted on the first Ctrl-C / SIGTERM. */
  interrupt: AbortSignal;
  /** What removes a lease whose release failed; default: `crabbox cleanup` (direct mode). */
  releaseHint?: string | undefined;
  /**
   * How long an interrupted command may take to end before the next, harder signal goes to its process group:
   * SIGINT, then SIGTERM after `term`, then SIGKILL after `kill` more (a SIGTERM interrupt starts at SIGTERM).
   */
  interruptGraceMs?: { term: number; kill: number } | undefined;
}

/** Default grace periods of the interrupt escalation (docs/run.md). */
export const INTERRUPT_GRACE_MS = { term: 10_000, kill: 5_000 } as const;

export interface RunOutcome {
  /** The run's record id; undefined when no record was made (the run failed before it had a lease, or recording failed). */
  runId: string | undefined;
  leaseId: string | undefined;
  slug: string | undefined;
  fresh: boolean;
  released: boolean;
  /** The remote command's exit code; undefined when it never reported one. */
  remoteExitCode: number | undefined;
  /** What crabbox exits with. */
  exitCode: number;
  /** `synced`, `skipped` (box already had the tree), `off` (--no-sync) or `not-run` (failed before syncing). */
  sync: RemoteRunResult['sync'] | 'not-run';
  deleted: number;
  timings: RunTimings;
  interrupted: 'SIGINT' | 'SIGTERM' | undefined;
  error: CrabboxError | undefined;
}

/** lease → wait ready → sync and exec in one SSH round trip → record → release. Never throws for run failures. */
export async function runOnBox<L extends Lease, T>(req: RunRequest<L, T>): Promise<RunOutcome> {
  const { clock } = req;
  const t0 = req.startedAt ?? clock.now();
  let runId: string | undefined;
  const timings: RunTimings = { prepareMs: 0, leaseMs: 0, syncMs: 0, commandMs: 0, releaseMs: 0, totalMs: 0 };
  const outcome: RunOutcome = {
    runId: undefined, leaseId: undefined, slug: undefined, fresh: false, released: false, remoteExitCode: undefined,
    exitCode: ExitCode.internal, sync: 'not-run', deleted: 0, timings, interrupted: undefined, error: undefined,
  };
  let lease: L | undefined;
  let remote: RemoteRun | undefined;
  let heartbeat: TimerHandle | undefined;
  let syncTicker: TimerHandle | undefined;
  let escalation: TimerHandle | undefined;
  let stopResizes: (() => void) | undefined;
  let stopInput: (() => void) | undefined;
  const grace = req.interruptGraceMs ?? INTERRUPT_GRACE_MS;
  /** Sends `signals[0]` to the remote group, and each next one after its grace period while the command still runs. */
  const escalate = (signals: ('INT' | 'TERM' | 'KILL')[]): void => {
    const [now, next] = signals;
    remote?.interrupt(now!);
    if (!next) return;
    const waitMs = next === 'TERM' ? grace.term : grace.kill;
    escalation = clock.setTimeout(() => {
      req.warn(`crabbox: the command is still running ${Math.round(waitMs / 1000)}s after SIG${now}; sending SIG${next} to its process group`);
      escalate(signals.slice(1));
    }, waitMs, { unref: true });
  };
  const onInterrupt = (): void => {
    const reason = req.interrupt.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT';
    outcome.interrupted ??= reason;
    // Escalates once, from the moment there is a remote command to signal.
    if (!remote || escalation) return;
    escalate(reason === 'SIGTERM' ? ['TERM', 'KILL'] : ['INT', 'TERM', 'KILL']);
  };
  req.interrupt.addEventListener('abort', onInterrupt, { once: true });
  let recording: Promise<void> = Promise.resolve();
  /** When the command ended: from here on everything (results, the record, the release) counts as `release`. */
  let afterCommand: number | undefined;
  /** The lease was not asked of its provider: a failed connection is explained by asking it then. */
  let unconfirmed = false;
  /** Brokered, with the lease as last touched here: the coordinator's answer, which the command waits for. */
  let confirmation: Promise<L> | undefined;
  // The record and the coordinator's confirmation start once ssh is on its way (or the run failed before): a
  // process's first request sets up its HTTP client, tens of milliseconds of CPU that would otherwise delay ssh.
  let spawned!: () => void;
  const afterSpawn = new Promise<void>((resolve) => (spawned = resolve));
  try {
    if (req.interrupt.aborted) {
      onInterrupt();
      throw new CrabboxError('interrupted', 'interrupted');
    }
    if (!req.leaseRef && req.sync) await req.sync.prepared;
    const leaseStart = clock.now();
    timings.prepareMs = leaseStart - t0;
    req.progress(req.leaseRef ? `using lease ${req.leaseRef}` : 'leasing a box…');
    const acquired = await req.leases.acquire(req.leaseRef, { keep: req.keep, signal: req.interrupt });
    lease = acquired.lease;
    unconfirmed = acquired.recent === true && acquired.confirm === undefined;
    const known = lease;
    const confirm = acquired.confirm;
    confirmation = confirm && afterSpawn.then(() => confirm()).then((confirmed) => {
      if (!sameBox(confirmed, known)) throw new CrabboxError('lease_not_active', `lease ${known.id} (${known.slug}) is on another box than when this computer last used it; run the command again`);
      lease = confirmed;
      return confirmed;
    });
    confirmation?.catch(() => undefined);
    outcome.fresh = acquired.fresh;
    outcome.leaseId = lease.id;
    outcome.slug = lease.slug;
    timings.leaseMs = clock.now() - leaseStart;
    // A run is recorded once it holds a lease (a run that fails before has no record and prints no run id). The
    // write (a local file or a coordinator round trip) overlaps the connection and the box's check instead of
    // delaying the command: it starts once ssh has, and it is settled before the env block is sent and before the
    // record is finished.
    const started = lease;
    const recorder = req.recorder;
    if (recorder) {
      recording = afterSpawn.then(() => recorder.start({ leaseId: started.id, slug: started.slug, provider: started.provider, command: req.recordCommand ? req.command.args : undefined, ...(req.env.length > 0 ? { forwardsEnv: true } : {}) })).then(
        (id) => {
          runId = id;
          outcome.runId = id;
        },
        // When the coordinator refused the lease itself, that is the run's error: no second line for the record.
        (error: unknown) => (confirmation ?? Promise.resolve()).then(() => req.warn(`warning: could not record the run: ${(error as Error).message}`), () => undefined),
      );
    }
    if (req.interrupt.aborted) throw new CrabboxError('interrupted', 'interrupted');
    // The box's .git state is worked out while the connection opens (nothing runs when HEAD and the index are unchanged).
    const gitMeta = req.sync && req.git ? req.git(started.id) : undefined;
    gitMeta?.catch(() => undefined);
    const box = await req.connect(acquired.target, lease, req.interrupt);
    timings.leaseMs = clock.now() - leaseStart; // waiting for ssh is part of getting the lease
    const machine = lease.machine;
    if (!machine) throw new CrabboxError('lease_not_active', `lease ${lease.id} has no machine`);
    const ws = workspaceFor({ workRoot: machine.workRoot, leaseId: lease.id, repoRoot: req.repoRoot });
    req.debug?.(`workspace ${ws.workdir} (bookkeeping ${ws.metadir})${req.sync ? '' : '; --no-sync'}`);
    req.sync?.prepared.then((p) => req.debug?.(`sync: ${p.scan} scan, fingerprint ${p.offer.fingerprint.slice(0, 16)}, base ${p.offer.base.slice(0, 16) || 'none'}, ${p.files} files`), () => undefined);

    const interval = req.heartbeatMs ?? heartbeatIntervalMs(lease.idleTimeoutSeconds);
    heartbeat = clock.setInterval(() => {
      if (!lease) return;
      req.leases.touch(lease).then((l) => void (lease = l), (error: unknown) => req.warn(`warning: heartbeat failed: ${(error as Error).message}`));
    }, interval, { unref: true });

    // Passes output through (with backpressure) and copies it into the record's log tail. The high-water mark is
    // above ssh's read size, so a destination that keeps up never pauses the ssh pipe between chunks.
    // A destination whose reader went away (`crabbox run … | head`) takes nothing more; the command runs on, its
    // output still goes to the tail, and the lease is released as usual (an unhandled EPIPE used to kill crabbox).
    const tee = (stream: Writable): Writable => new Writable({
      highWaterMark: TEE_HIGH_WATER_MARK,
      write(chunk: Buffer, _encoding, callback) {
        req.tail?.write(chunk);
        if (stream.destroyed || stream.writableEnded || stream.write(chunk)) return callback();
        const go = (): void => {
          stream.off('drain', go);
          stream.off('close', go);
          callback();
        };
        stream.on('drain', go);
        stream.on('close', go);
      },
    });

    for (const dest of [req.stdout, req.stderr]) dest.on('error', ignoreOutputError);
    const outStream = tee(req.stdout);
    const errStream = tee(req.stderr);
    // Ends the tees, then waits until each destination has taken every byte handed to it (an empty write's callback
    // runs after the writes queued before it), so the run never reports done with output still in flight.
    const drained = (stream: Writable): Promise<void> => new Promise((resolve) => (stream.writableEnded || stream.destroyed ? resolve() : stream.write(Buffer.alloc(0), () => resolve())));
    const flushed = (): Promise<unknown> =>
      Promise.all([[outStream, req.stdout], [errStream, req.stderr]].map(([t, dest]) => new Promise<void>((resolve) => t!.end(() => resolve())).then(() => drained(dest!))));
    const onProgress = (e: ProgressEvent): void => {
      if (e.type === 'waiting-lock') req.progress('waiting for another run on this lease to finish…');
      else if (e.type === 'syncing') {
        const began = clock.now();
        req.progress(`syncing ${plural(e.files, 'file')}${e.deleted ? `, deleting ${e.deleted}` : ''}…`);
        syncTicker = clock.setInterval(() => req.progress(`still syncing after ${Math.round((clock.now() - began) / 1000)}s…`), 10_000, { unref: true });
      } else if (e.type === 'git-problem') {
        req.warn(e.problem === 'missing' ? 'crabbox: the box has no git; the command runs without .git'
          : `crabbox: the box's .git could not be brought to this checkout's HEAD (${e.problem}); the next run sends it again`);
      } else if (e.type === 'locale-fallback') req.warn(`crabbox: the box has no locale ${e.locale}; the command runs with C.UTF-8`);
      else if (e.type === 'synced' || e.type === 'started') syncTicker?.cancel();
    };
    // The run id is one of the command's variables: the env block follows the request once the record's write (a
    // file, or a round trip to the coordinator) is settled, while the box takes its lock and checks its files.
    const env = Promise.all([recording, confirmation]).then(() => mergeEnv(req.env, req.sessionEnv ?? [], runEnv({ leaseId: started.id, runId, slug: started.slug, provider: started.provider })));
    const syncStart = clock.now();
    remote = startRemoteRun({
      box, workdir: ws.workdir, metadir: ws.metadir, command: req.command, env, lockWaitSeconds: req.lockWaitSeconds,
      // Without a source of keys the command's terminal reads end of file, as a command without -t does.
      pty: req.pty ? { columns: req.pty.columns, rows: req.pty.rows, keys: req.pty.onInput !== undefined } : undefined,
      sync: req.sync,
      git: req.sync && req.git ? gitMeta : undefined,
      stdout: outStream, stderr: errStream, clock, onProgress, debug: req.debug,
    });
    spawned();
    req.execStarted?.();
    if (req.interrupt.aborted) onInterrupt();
    const running = remote;
    stopResizes = req.pty?.onResize?.((columns, rows) => running.resize(columns, rows));
    stopInput = req.pty?.onInput?.((bytes) => running.input(bytes));
    try {
      const result = await remote.result.finally(flushed);
      afterCommand = clock.now();
      timings.syncMs = result.syncMs;
      timings.commandMs = result.commandMs;
      outcome.sync = result.sync;
      outcome.deleted = result.deleted;
      outcome.remoteExitCode = result.exitCode;
      outcome.exitCode = result.exitCode;
      if (req.afterCommand && !outcome.interrupted) {
        await req.afterCommand(box, ws.workdir, { exitCode: result.exitCode, runId }).catch((error: unknown) => req.warn(`warning: could not collect results: ${(error as Error).message}`));
      }
    } catch (error) {
      afterCommand ??= clock.now();
      if (!timings.syncMs) timings.syncMs = afterCommand - syncStart;
      throw error;
    }
  } catch (error) {
    spawned();
    let failure = error;
    // A box that is gone (deleted elsewhere, a spot instance reclaimed, released on the coordinator) fails the
    // connection: its provider or the coordinator says why.
    if (isConnectionFailure(error)) failure = (await leaseRefusal(confirmation ?? (unconfirmed && lease ? req.leases.recheck?.(lease) : undefined))) ?? error;
    outcome.error = isCrabboxError(failure) ? failure : new CrabboxError('internal', `internal error: ${(failure as Error).message}`, { cause: failure });
    outcome.exitCode = outcome.error.exitCode;
  } finally {
    heartbeat?.cancel();
    stopResizes?.();
    stopInput?.();
    syncTicker?.cancel();
    escalation?.cancel();
    req.interrupt.removeEventListener('abort', onInterrupt);
    for (const dest of [req.stdout, req.stderr]) dest.off('error', ignoreOutputError);
  }
  if (outcome.interrupted) outcome.exitCode = outcome.interrupted === 'SIGTERM' ? 143 : 130;
  await recording;

  // The record is finished before the release, so a second Ctrl-C during a slow release still leaves a closed record.
  if (runId !== undefined && req.recorder) {
    req.tail?.close();
    try {
      // One truth: the record's exit code is what `crabbox run` exits with; the command's own code is kept beside it.
      await req.recorder.finish(runId, {
        exitCode: outcome.exitCode,
        source: runSource(outcome),
        interrupted: outcome.interrupted,
        remoteExitCode: outcome.remoteExitCode,
        timings: { ...phasesBeforeRelease(outcome), total: clock.now() - t0 },
        logTail: req.tail?.snapshot(),
        syncSkipped: outcome.sync !== 'synced',
        ...req.finishExtras?.(),
      });
    } catch (error) {
      req.warn(`warning: could not record the run: ${(error as Error).message}`);
    }
  }
  const releaseStart = clock.now();
  if (lease && outcome.fresh && !req.keep) {
    req.progress(`releasing ${lease.id}…`);
    try {
      await req.leases.release(lease);
      outcome.released = true;
    } catch (error) {
      req.warn(`warning: could not release ${lease.id}: ${(error as Error).message}; ${req.releaseHint ?? '`crabbox cleanup` removes it once it expires'}`);
    }
  }
  timings.releaseMs = clock.now() - (afterCommand ?? releaseStart);
  timings.totalMs = clock.now() - t0;
  return outcome;
}

/** The phases known when the record is finished (before the release). */
function phasesBeforeRelease(outcome: RunOutcome): ReturnType<typeof runPhases> {
  const { release: _release, total: _total, ...phases } = runPhases(outcome);
  return phases;
}
