import type { Writable } from 'node:stream';
import type { Clock } from '../domain/clock.ts';
import { CrabboxError } from '../domain/errors.ts';
import { redact } from '../redact/redact.ts';
import type { BoxConnection } from './box.ts';
import type { EnvPair } from '../env/select.ts';
import { BOOTSTRAP, encodeBlob, encodeRequest, WrapperOutput, type WrapperMessage } from './protocol.ts';
import { runRsync } from './rsync.ts';
import { showPath } from './paths.ts';
import { splitMuxNoise } from '../ssh/mux.ts';

export type ProgressEvent =
  | { type: 'waiting-lock' }
  | { type: 'in-sync' }
  | { type: 'syncing'; deleted: number }
  | { type: 'synced' }
  | { type: 'started' };

export interface RemoteRunOptions {
  box: BoxConnection;
  workdir: string;
  metadir: string;
  command: { mode: 'argv' | 'shell'; args: string[] };
  env: readonly EnvPair[];
  lockWaitSeconds: number;
  /** Undefined runs without syncing (`--no-sync`). */
  sync?: { repoRoot: string; list: Buffer; fingerprint: string; deleteLimit: number; timeoutSeconds: number } | undefined;
  stdout: Writable;
  stderr: Writable;
  clock: Clock;
  onProgress?: ((event: ProgressEvent) => void) | undefined;
  /** Diagnostics (--debug): ssh's multiplexing messages go here instead of the command's stderr. */
  debug?: ((line: string) => void) | undefined;
}

export interface RemoteRunResult {
  exitCode: number;
  /** `skipped`: the box already had this tree; `synced`: rsync ran; `off`: --no-sync. */
  sync: 'skipped' | 'synced' | 'off';
  deleted: number;
  /** From connecting until the command started (lock wait and sync included). */
  syncMs: number;
  commandMs: number;
}

export interface RemoteRun {
  result: Promise<RemoteRunResult>;
  /** Forwards a signal to the remote process group; before the command starts it stops the sync and runs nothing. */
  interrupt(signal: 'INT' | 'TERM' | 'KILL'): void;
}

/** Turns a wrapper `fail` message into the error the user sees. */
function failure(args: string[], sample: Buffer | undefined, lockWaitSeconds: number): CrabboxError {
  const [kind = '', ...rest] = args;
  const text = rest.join(' ');
  if (kind === 'busy') return new CrabboxError('busy', `another run is using this lease's workspace (waited ${lockWaitSeconds}s)`, { hint: 'wait for it to finish, or use another lease' });
  if (kind === 'too-many-deletes') {
    const paths = (sample?.toString('utf8').split('\0').filter(Boolean) ?? []).slice(0, 5).map(showPath);
    return new CrabboxError('sync_failed', `sync would delete ${rest[0]} files on the box (more than sync.deleteLimit)${paths.length ? `, e.g. ${paths.join(', ')}` : ''}`, {
      hint: 'check `crabbox sync-plan`; pass --allow-mass-delete if this is intended',
    });
  }
  if (kind === 'missing-tool') return new CrabboxError('missing_tool', `the box has no ${rest[0] ?? 'required tool'}`, { hint: 'the box image needs bash, coreutils and util-linux' });
  if (kind === 'aborted') return new CrabboxError('sync_failed', 'sync did not complete');
  return new CrabboxError('sync_failed', `box: ${kind} ${text}`.trim());
}

/**
 * Runs one command on the box in a single SSH exec: the wrapper takes the workspace lock, checks the fingerprint,
 * asks for a sync only when the tree differs (rsync then runs over the same connection while the lock is held),
 * starts the command in its own process group, streams its output and reports its exit code.
 */
export function startRemoteRun(options: RemoteRunOptions): RemoteRun {
  const { clock } = options;
  const started = clock.now();
  const child = options.box.exec(BOOTSTRAP);
  const preStartErr: Buffer[] = [];
  const rsyncAbort = new AbortController();
  let phase: 'connecting' | 'syncing' | 'running' | 'done' = 'connecting';
  let sync: RemoteRunResult['sync'] = options.sync ? 'skipped' : 'off';
  let deleted = 0;
  let commandStarted = 0;
  let failed: CrabboxError | undefined;
  let sample: Buffer | undefined;
  let abandoned: CrabboxError | undefined;

  const send = (bytes: Buffer | string): void => {
    if (!child.stdin.destroyed && child.stdin.writable) child.stdin.write(bytes);
  };
  child.stdin.on('error', () => undefined);

  const onMessage = (message: WrapperMessage): void => {
    switch (message.word) {
      case 'waiting':
        options.onProgress?.({ type: 'waiting-lock' });
        break;
      case 'in-sync':
        options.onProgress?.({ type: 'in-sync' });
        break;
      case 'need-sync':
        if (!options.sync) {
          failed = new CrabboxError('sync_failed', 'box asked for a sync the run did not plan');
          child.stdin.end();
          break;
        }
        phase = 'syncing';
        sync = 'synced';
        send(encodeBlob(options.sync.list));
        break;
      case 'rsync': {
        deleted = Number(message.args[0]) || 0;
        options.onProgress?.({ type: 'syncing', deleted });
        const plan = options.sync!;
        runRsync({ box: options.box, repoRoot: plan.repoRoot, workdir: options.workdir, list: plan.list, timeoutSeconds: plan.timeoutSeconds, signal: rsyncAbort.signal, clock }).then(
          () => send('ok\0'),
          (error: unknown) => {
            failed ??= error as CrabboxError;
            send('abort\0');
          },
        );
        break;
      }
      case 'synced':
        options.onProgress?.({ type: 'synced' });
        break;
      case 'sample':
        sample = message.payload;
        break;
      case 'fail':
        failed ??= failure(message.args, sample, options.lockWaitSeconds);
        break;
      case 'start': {
        phase = 'running';
        commandStarted = clock.now();
        const { kept, noise } = splitMuxNoise(Buffer.concat(preStartErr).toString('utf8'));
        for (const line of noise) options.debug?.(`ssh: ${redact(line)}`);
        if (kept) options.stderr.write(redact(kept));
        preStartErr.length = 0;
        options.onProgress?.({ type: 'started' });
        break;
      }
      default:
        break;
    }
  };

  const output = new WrapperOutput({
    onMessage,
    onData: (data) => {
      // Backpressure: a slow reader of our stdout slows the remote command instead of filling memory.
      if (!options.stdout.write(data)) {
        child.stdout.pause();
        options.stdout.once('drain', () => child.stdout.resume());
      }
    },
    onNoise: (data) => options.stderr.write(redact(data.toString('utf8'))),
  });
  child.stdout.on('data', (b: Buffer) => output.push(b));
  child.stderr.on('data', (b: Buffer) => {
    if (phase === 'running') options.stderr.write(b);
    else preStartErr.push(b);
  });

  const result = new Promise<RemoteRunResult>((resolve, reject) => {
    child.on('error', (error) => reject(new CrabboxError('ssh_failed', `cannot start ssh: ${error.message}`)));
    child.on('close', (code, signal) => {
      const exitCode = output.end();
      const finishedPhase = phase;
      phase = 'done';
      const syncMs = (commandStarted || clock.now()) - started;
      if (exitCode !== undefined) {
        resolve({ exitCode, sync, deleted, syncMs, commandMs: clock.now() - commandStarted });
        return;
      }
      if (abandoned) return reject(abandoned);
      if (failed) return reject(failed);
      const tail = redact(splitMuxNoise(Buffer.concat(preStartErr).toString('utf8')).kept.trim().split('\n').slice(-2).join(' / ')).slice(0, 300);
      const how = signal ? `signal ${signal}` : `exit ${code}`;
      reject(finishedPhase === 'running'
        ? new CrabboxError('ssh_failed', `connection to the box ended before the command reported its exit code (ssh ${how})`)
        : new CrabboxError('ssh_failed', `ssh to the box failed (${how})${tail ? `: ${tail}` : ''}`));
    });
  });

  // Until the command starts, the lock wait and the sync timeout bound how long this may take.
  const startDeadlineMs = (options.lockWaitSeconds + (options.sync?.timeoutSeconds ?? 0) + 60) * 1000;
  const startTimer = clock.setTimeout(() => {
    if (phase === 'running' || phase === 'done') return;
    abandoned ??= new CrabboxError('timeout', `the box did not start the command within ${Math.round(startDeadlineMs / 1000)}s`);
    rsyncAbort.abort();
    child.kill('SIGTERM');
  }, startDeadlineMs, { unref: true });
  child.on('close', () => startTimer.cancel());

  child.stdin.write(encodeRequest({
    workdir: options.workdir,
    metadir: options.metadir,
    fingerprint: options.sync?.fingerprint ?? '',
    lockWaitSeconds: options.lockWaitSeconds,
    deleteLimit: options.sync?.deleteLimit ?? -1,
    mode: options.command.mode,
    args: options.command.args,
    env: options.env,
  }));

  return {
    result,
    interrupt(signal) {
      if (phase === 'done') return;
      // The word reaches the wrapper wherever it is: its signal watcher once the command runs (which may already
      // be the case before the `start` message arrives here), or a sync handshake read, which it makes abort.
      send(`${signal}\0`);
      if (phase === 'running') return;
      abandoned ??= new CrabboxError('interrupted', 'interrupted before the command started');
      rsyncAbort.abort();
      // A wrapper still waiting for the workspace lock reads nothing: hang up unless the command has started by then.
      clock.setTimeout(() => {
        if (phase !== 'running' && phase !== 'done') child.kill('SIGTERM');
      }, 2000, { unref: true });
    },
  };
}
