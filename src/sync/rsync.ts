import { spawn } from 'node:child_process';
import { systemClock, type Clock } from '../domain/clock.ts';
import { CrabboxError } from '../domain/errors.ts';
import type { BoxConnection } from './box.ts';

export interface RsyncOptions {
  box: BoxConnection;
  repoRoot: string;
  workdir: string;
  /** NUL-terminated paths: exactly these are sent. */
  list: Buffer;
  /**
   * How rsync decides a listed file is already there: `times` (size and mtime, for a folder crabbox has never
   * synced into); `content` (checksums, for files whose history crabbox does not know); `never` (the files are
   * known to differ: send them all, whatever their size and mtime say).
   */
  compare: 'times' | 'content' | 'never';
  /** Overall deadline for the transfer. */
  timeoutSeconds: number;
  /** rsync's own I/O timeout: no data for this long fails the transfer. */
  ioTimeoutSeconds?: number;
  signal?: AbortSignal;
  /** Bounds the transfer; default: real time. */
  clock?: Pick<Clock, 'setTimeout'>;
}

/** The rsync argv: an explicit file list, symlinks as links, mtimes kept, nothing deleted, owners left alone. */
export function rsyncArgs(options: Pick<RsyncOptions, 'box' | 'repoRoot' | 'workdir' | 'timeoutSeconds' | 'ioTimeoutSeconds' | 'compare'>): string[] {
  const io = Math.max(5, Math.min(options.ioTimeoutSeconds ?? 120, options.timeoutSeconds));
  return [
    // Folder times are kept too: `--omit-dir-times` made rsync (3.5) about twice as slow on a first sync of 10 000 files.
    '--recursive', '--links', '--perms', '--times',
    // Compare mtimes to the nanosecond: an edit within the same second with the same size must still be sent.
    '--modify-window=-1',
    ...(options.compare === 'never' ? ['--ignore-times'] : options.compare === 'content' ? ['--checksum'] : []),
    '--from0', '--files-from=-',
    `--timeout=${io}`,
    // On this computer bandwidth is free: rsync's delta search and compression would only cost CPU.
    ...(options.box.local ? ['--whole-file'] : ['--compress']),
    '-e', options.box.rsync.rsh,
    `${options.repoRoot.replace(/\/+$/, '')}/`,
    `${options.box.rsync.host}:${options.workdir}/`,
  ];
}

/** Sends the listed files to the box. Fails with a sync error on rsync failure, timeout or abort. */
export function runRsync(options: RsyncOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('rsync', rsyncArgs(options), { stdio: ['pipe', 'ignore', 'pipe'], detached: true });
    const err: Buffer[] = [];
    let why: string | undefined;
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const stop = (reason: string): void => {
      why ??= reason;
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        child.kill('SIGTERM');
      }
    };
    const timer = (options.clock ?? systemClock).setTimeout(() => stop(`sync timed out after ${options.timeoutSeconds}s`), options.timeoutSeconds * 1000);
    const onAbort = (): void => stop('sync interrupted');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.list);
    child.on('error', (error: NodeJS.ErrnoException) => {
      timer.cancel();
      reject(error.code === 'ENOENT' ? new CrabboxError('missing_tool', 'rsync is not installed or not on PATH', { hint: 'install rsync' }) : error);
    });
    child.on('close', (code) => {
      timer.cancel();
      options.signal?.removeEventListener('abort', onAbort);
      if (code === 0 && !why) return resolve();
      const lines = Buffer.concat(err).toString('utf8').trim().split('\n').filter(Boolean);
      const detail = lines.slice(-2).join(' / ').slice(0, 400);
      reject(new CrabboxError(why === 'sync interrupted' ? 'interrupted' : 'sync_failed', why ?? `rsync failed (exit ${code})${detail ? `: ${detail}` : ''}`));
    });
  });
}
