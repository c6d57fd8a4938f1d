import type { Writable } from 'node:stream';
import type { Clock } from '../domain/clock.ts';
import { CrabboxError } from '../domain/errors.ts';
import { redact } from '../redact/redact.ts';
import type { BoxConnection } from './box.ts';
import type { EnvPair } from '../env/select.ts';
import { encodeEnvBlock } from '../env/wire.ts';
import { inlinePayload } from './inline.ts';
import type { RemoteSync } from './prepare.ts';
import type { GitMeta } from './git-meta.ts';
import { BOOTSTRAP, clampSize, encodeBlob, encodeOffer, encodeRequest, WrapperOutput, type WrapperMessage } from './protocol.ts';
import { runRsync, type RsyncOptions } from './rsync.ts';
import { showPath } from './paths.ts';
import { splitMuxNoise } from '../ssh/mux.ts';

export type { RemoteSync };

export type ProgressEvent =
  | { type: 'waiting-lock' }
  | { type: 'in-sync' }
  | { type: 'syncing'; deleted: number; files: number }
  | { type: 'synced' }
  /** The box lacks the caller's locale (LANG or LC_*): the command gets C.UTF-8 instead (said once per workspace). */
  | { type: 'locale-fallback'; locale: string }
  /** The box's .git could not be brought to this checkout's HEAD (`missing`: the box has no git). */
  | { type: 'git-problem'; problem: 'missing' | 'failed' | 'stale' }
  | { type: 'started' };

export interface RemoteRunOptions {
  box: BoxConnection;
  workdir: string;
  metadir: string;
  command: { mode: 'argv' | 'shell'; args: string[] };
  /** `crabbox run -t`: a terminal of this size on the box (stdout and stderr become one stream). */
  pty?: { columns: number; rows: number; keys?: boolean | undefined } | undefined;
  /** The command's variables; a promise while the run's id (one of them) is still being recorded. */
  env: readonly EnvPair[] | Promise<readonly EnvPair[]>;
  lockWaitSeconds: number;
  /** Undefined runs without syncing (`--no-sync`). */
  sync?: RemoteSync | undefined;
  /** The box's git metadata (src/sync/git-meta.ts), sent with the offer; undefined or resolving to undefined: none. */
  git?: Promise<GitMeta | undefined> | undefined;
  stdout: Writable;
  stderr: Writable;
  clock: Clock;
  onProgress?: ((event: ProgressEvent) => void) | undefined;
  /** Diagnostics (--debug): ssh's multiplexing messages go here instead of the command's stderr. */
  debug?: ((line: string) => void) | undefined;
}

export interface RemoteRunResult {
  exitCode: number;
  /** `skipped`: the box already had this tree; `synced`: it got files or deletions; `off`: --no-sync. */
  sync: 'skipped' | 'synced' | 'off';
  /** How files went over: `rsync`, `inline` (a few small files on the run's own channel), or `none`. */
  transfer: 'rsync' | 'inline' | 'none';
  deleted: number;
  /** From connecting until the command started (lock wait and sync included). */
  syncMs: number;
  commandMs: number;
}

export interface RemoteRun {
  result: Promise<RemoteRunResult>;
  /** Forwards a signal to the remote process group; before the command starts it stops the sync and runs nothing. */
  interrupt(signal: 'INT' | 'TERM' | 'KILL'): void;
  /** With a pty: the caller's terminal changed size; sent once the command runs (the latest size wins before). */
  resize(columns: number, rows: number): void;
  /** With a pty: the caller's keys, for the command's terminal; held until the command runs. */
  input(bytes: Buffer): void;
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
  let transfer: RemoteRunResult['transfer'] = 'none';
  let commandStarted = 0;
  let failed: CrabboxError | undefined;
  let sample: Buffer | undefined;
  let abandoned: CrabboxError | undefined;

  /** Until the env block and the offer (with sync) are written, signal words wait (the wrapper reads fields in between). */
  let requestSent = false;
  let pendingSize: { columns: number; rows: number } | undefined;
  const pendingInput: Buffer[] = [];
  /** Keys as `IN <hex>` words of at most 512 bytes (the wrapper reads words, never raw bytes, on its stdin). */
  const sendInput = (bytes: Buffer): void => {
    for (let at = 0; at < bytes.length; at += 512) send(`IN ${bytes.subarray(at, at + 512).toString('hex')}\0`);
  };
  // git metadata is optional: a failure to compute it leaves the box without (a warning), never fails the run.
  const gitMeta: Promise<GitMeta | undefined> = (options.git ?? Promise.resolve(undefined)).catch((error: unknown) => {
    options.debug?.(`git metadata: ${(error as Error).message}`);
    options.onProgress?.({ type: 'git-problem', problem: 'failed' });
    return undefined;
  });
  const heldSignals: string[] = [];
  const send = (bytes: Buffer | string): void => {
    if (!child.stdin.destroyed && child.stdin.writable) child.stdin.write(bytes);
  };
  child.stdin.on('error', () => undefined);

  const splitList = (b: Buffer | undefined): string[] => (b ? b.toString('utf8').split('\0').filter(Boolean) : []);
  let extra: string[] = [];
  let committed: Promise<unknown> = Promise.resolve();
  const syncFailed = (error: unknown): void => {
    failed ??= error as CrabboxError;
    send('abort\0');
  };
  /** What to send for the box's answer: the change, files the box changed, or everything. */
  const rsyncPlan = async (how: string): Promise<{ list: Buffer; compare: RsyncOptions['compare'] }> => {
    const prepared = await options.sync!.prepared;
    // The box names the files it wants again; only files of this checkout's manifest are ever sent.
    for (const path of extra) {
      if (!(await prepared.has(path))) throw new CrabboxError('sync_failed', `the box asked for ${showPath(path)}, which is not part of this checkout's sync`);
    }
    if (how === 'full' || how === 'full-checksum') return { list: await prepared.fullList(), compare: how === 'full' ? 'times' : 'content' };
    const paths = new Set(how === 'delta' ? [...splitList(prepared.offer.send), ...extra] : extra);
    return { list: Buffer.from([...paths].map((p) => `${p}\0`).join(''), 'utf8'), compare: 'never' };
  };

  const onMessage = (message: WrapperMessage): void => {
    switch (message.word) {
      case 'waiting':
        options.onProgress?.({ type: 'waiting-lock' });
        break;
      case 'in-sync':
        if (options.sync) committed = options.sync.prepared.then((p) => p.commit()).catch(() => undefined);
        options.onProgress?.({ type: 'in-sync' });
        break;
      case 'need-full':
        if (!options.sync) {
          failed = new CrabboxError('sync_failed', 'box asked for a sync the run did not plan');
          child.stdin.end();
          break;
        }
        phase = 'syncing';
        sync = 'synced';
        options.sync.prepared.then((p) => p.fullList()).then((list) => send(encodeBlob(list)), syncFailed);
        break;
      case 'extra':
        extra = splitList(message.payload);
        break;
      case 'rsync': {
        if (!options.sync) break;
        phase = 'syncing';
        sync = 'synced';
        deleted = Number(message.args[0]) || 0;
        const plan = options.sync;
        const how = message.args[1] ?? 'full';
        rsyncPlan(how).then(async ({ list, compare }) => {
          let files = 0;
          for (const byte of list) if (byte === 0) files++;
          options.onProgress?.({ type: 'syncing', deleted, files });
          // A few small changed files travel on this channel: no rsync, no second connection.
          const inline = message.args[2] === '1' && compare === 'never' ? await inlinePayload(plan.repoRoot, splitList(list)) : undefined;
          if (inline) {
            transfer = 'inline';
            send(inline);
          } else if (list.length > 0) {
            transfer = 'rsync';
            await runRsync({ box: options.box, repoRoot: plan.repoRoot, workdir: options.workdir, list, compare, timeoutSeconds: plan.timeoutSeconds, signal: rsyncAbort.signal, clock });
          }
          send('ok\0');
        }).catch(syncFailed);
        break;
      }
      case 'synced':
        if (options.sync) committed = options.sync.prepared.then((p) => p.commit()).catch(() => undefined);
        options.onProgress?.({ type: 'synced' });
        break;
      case 'git': {
        const state = message.args[0];
        gitMeta.then((meta) => {
          if (state === 'ok') meta?.commit();
          else meta?.drop();
        }).catch(() => undefined);
        if (state === 'missing' || state === 'failed' || state === 'stale') options.onProgress?.({ type: 'git-problem', problem: state });
        break;
      }
      case 'locale-fallback':
        options.onProgress?.({ type: 'locale-fallback', locale: message.args[0] ?? '?' });
        break;
      case 'sample':
        sample = message.payload;
        break;
      case 'fail':
        failed ??= failure(message.args, sample, options.lockWaitSeconds);
        break;
      case 'start': {
        phase = 'running';
        if (pendingSize) send(`WINCH ${clampSize(pendingSize.columns)} ${clampSize(pendingSize.rows)}\0`);
        for (const bytes of pendingInput.splice(0)) sendInput(bytes);
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
    child.on('close', (code, signal) => void committed.then(() => {
      const exitCode = output.end();
      const finishedPhase = phase;
      phase = 'done';
      const syncMs = (commandStarted || clock.now()) - started;
      if (exitCode !== undefined) {
        resolve({ exitCode, sync, transfer, deleted, syncMs, commandMs: clock.now() - commandStarted });
        return;
      }
      if (abandoned) return reject(abandoned);
      if (failed) return reject(failed);
      const tail = redact(splitMuxNoise(Buffer.concat(preStartErr).toString('utf8')).kept.trim().split('\n').slice(-2).join(' / ')).slice(0, 300);
      const how = signal ? `signal ${signal}` : `exit ${code}`;
      reject(finishedPhase === 'running'
        ? new CrabboxError('ssh_failed', `connection to the box ended before the command reported its exit code (ssh ${how})`)
        : new CrabboxError('ssh_failed', `ssh to the box failed (${how})${tail ? `: ${tail}` : ''}`));
    }));
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
    sync: options.sync !== undefined,
    lockWaitSeconds: options.lockWaitSeconds,
    mode: options.command.mode,
    pty: options.pty,
    args: options.command.args,
  }));
  // The box takes the lock and checks its own files while the run's id is recorded and the local scan may still
  // run; the env block and then the offer follow, and signal words wait for them (the wrapper reads them where the
  // command or a handshake would, never as an env record or an offer).
  const envSent = Promise.resolve(options.env).then((env) => void send(encodeEnvBlock(env)));
  Promise.all([options.sync?.prepared, gitMeta, envSent]).then(
    ([p, git]) => {
      if (p) send(encodeOffer({ ...p.offer, deleteLimit: p.deleteLimit, git }));
      requestSent = true;
      for (const word of heldSignals.splice(0)) send(word);
    },
    (error: unknown) => {
      failed ??= error as CrabboxError;
      child.stdin.end();
      child.kill('SIGTERM');
    },
  );

  return {
    result,
    resize(columns, rows) {
      if (!options.pty || phase === 'done') return;
      // Before the command runs, a word on stdin would abort the sync: the size waits for `start`.
      if (phase !== 'running') pendingSize = { columns, rows };
      else send(`WINCH ${clampSize(columns)} ${clampSize(rows)}\0`);
    },
    input(bytes) {
      if (!options.pty || phase === 'done') return;
      if (phase !== 'running') pendingInput.push(bytes);
      else sendInput(bytes);
    },
    interrupt(signal) {
      if (phase === 'done') return;
      // The word reaches the wrapper wherever it is: its signal watcher once the command runs (which may already
      // be the case before the `start` message arrives here), or a sync handshake read, which it makes abort.
      if (requestSent) send(`${signal}\0`);
      else heldSignals.push(`${signal}\0`);
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
