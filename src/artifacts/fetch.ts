import { closeSync, constants, lstatSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock, type Clock } from '../domain/clock.ts';
import { CrabboxError } from '../domain/errors.ts';
import { formatBytes } from '../domain/bytes.ts';
import type { BoxConnection } from '../sync/box.ts';
import { BOOTSTRAP, field, scriptPayload } from '../sync/protocol.ts';
import { ByteReader, readTar } from './tar.ts';

/** One entry under the requested roots on the box. */
export interface BoxEntry {
  /** Relative to the workdir, `/`-separated. */
  path: string;
  size: number;
  /** `file`: a regular file; `symlink`: never followed or sent; `other`: a fifo, socket or device, never sent. */
  kind: 'file' | 'symlink' | 'other';
}

export interface FetchLimits {
  maxFiles: number;
  maxBytes: number;
}

/** What came back. */
export interface FetchResult {
  /** Local paths written, relative to the destination folder, in the order they arrived. */
  files: string[];
  bytes: number;
  /** Box entries left out because they are symlinks or not regular files. */
  skipped: number;
}

/** A path the box named, checked before anything is written for it: relative, no `.`/`..`/empty segments. */
export function safeRelative(path: string): boolean {
  if (path === '' || path.length > 4096 || path.startsWith('/') || /[\0\\]/.test(path)) return false;
  return path.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..' && Buffer.byteLength(seg) <= 255);
}

/**
 * Creates `rel`'s parent folders under `root`, refusing any that exists as anything but a real folder (a symlink
 * planted there cannot redirect a write), then creates the file itself, never over an existing one.
 */
function createInside(root: string, rel: string): number {
  const segs = rel.split('/');
  let dir = root;
  for (const seg of segs.slice(0, -1)) {
    dir = join(dir, seg);
    try {
      mkdirSync(dir, { mode: 0o755 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (!lstatSync(dir).isDirectory()) throw new CrabboxError('invalid_input', `cannot write ${rel}: ${seg} is not a folder here`);
    }
  }
  return openSync(join(root, rel), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
}

/** Parses one listing record: `<kind><size> <path>`. */
function parseEntry(record: string): BoxEntry {
  const m = /^([flo])(\d{1,18}) ([\s\S]+)$/.exec(record);
  if (!m || !safeRelative(m[3]!)) throw new CrabboxError('ssh_failed', 'the box sent a malformed file listing');
  return { path: m[3]!, size: Number(m[2]), kind: m[1] === 'f' ? 'file' : m[1] === 'l' ? 'symlink' : 'other' };
}

/**
 * Copies files from the workdir on the box in one ssh exec (src/sync/remote/crabbox-fetch.sh): the box lists what
 * is under `roots` (never entering a symlink), `select` picks regular files from the listing and names where each
 * goes under a folder the caller made, the limits are checked against the listing before a byte moves, and
 * the box sends exactly those files as a tar stream. Only selected paths are written, each inside `dest`, never over
 * an existing file; the limits are enforced again on the bytes that arrive, so a box that lies stops at them.
 */
export async function fetchFromBox(options: {
  box: BoxConnection;
  workdir: string;
  roots: readonly string[];
  /** Picks files from the listing: box path -> path under `dest`, the local folder they go into (made by the caller). */
  select: (entries: BoxEntry[]) => { dest: string; files: Map<string, string> };
  limits: FetchLimits;
  /** How the limits are named in an error (`artifacts.maxBytes`). */
  limitNames?: { files: string; bytes: string } | undefined;
  timeoutMs?: number | undefined;
  clock?: Pick<Clock, 'setTimeout'> | undefined;
}): Promise<FetchResult> {
  const { limits } = options;
  const names = options.limitNames ?? { files: 'artifacts.maxFiles', bytes: 'artifacts.maxBytes' };
  const child = options.box.exec(BOOTSTRAP);
  child.stderr.resume();
  child.stdin.on('error', () => undefined);
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const failed = new Promise<never>((_, reject) => child.on('error', (error) => reject(new CrabboxError('ssh_failed', `cannot reach the box: ${error.message}`))));
  failed.catch(() => undefined);
  let timedOut = false;
  const timer = (options.clock ?? systemClock).setTimeout(() => {
    timedOut = true;
    child.kill('SIGTERM');
  }, options.timeoutMs ?? 600_000, { unref: true });
  child.stdin.write(Buffer.concat([scriptPayload('crabbox-fetch.sh'), ...['crabbox-fetch/1', options.workdir, limits.maxFiles * 4 + 1000, options.roots.length, ...options.roots].map(field)]));
  const reader = new ByteReader(child.stdout);
  const result: FetchResult = { files: [], bytes: 0, skipped: 0 };
  let open: { fd: number; path: string } | undefined;
  try {
    const entries: BoxEntry[] = [];
    const seen = new Set<string>();
    let listed = false;
    for (let record = await Promise.race([reader.record(8192), failed]); record !== undefined; record = await reader.record(8192)) {
      if (record === '') {
        listed = true;
        break;
      }
      if (record === '+') throw new CrabboxError('payload_too_large', `more than ${limits.maxFiles * 4 + 1000} entries on the box match; nothing was copied`, { hint: 'narrow the paths' });
      const entry = parseEntry(record);
      if (!seen.has(entry.path)) entries.push(entry);
      seen.add(entry.path);
    }
    if (!listed) throw new CrabboxError('ssh_failed', timedOut ? 'the box did not list its files in time' : 'the box ended the file listing early');
    const { dest, files: chosen } = options.select(entries);
    const sizes = new Map(entries.map((e) => [e.path, e]));
    let planned = 0;
    for (const path of chosen.keys()) {
      const entry = sizes.get(path);
      if (entry?.kind !== 'file') throw new CrabboxError('internal', `internal error: ${path} was chosen but is not a listed file`);
      planned += entry.size;
    }
    result.skipped = entries.filter((e) => e.kind !== 'file').length;
    if (chosen.size > limits.maxFiles) {
      throw new CrabboxError('payload_too_large', `${chosen.size} files match, more than ${names.files} (${limits.maxFiles}); nothing was copied`, { hint: `narrow the paths or raise ${names.files}` });
    }
    if (planned > limits.maxBytes) {
      throw new CrabboxError('payload_too_large', `the matching files come to ${formatBytes(planned)}, more than ${names.bytes} (${formatBytes(limits.maxBytes)}); nothing was copied`, { hint: `narrow the paths or raise ${names.bytes}` });
    }
    for (const local of chosen.values()) if (!safeRelative(local)) throw new CrabboxError('internal', `internal error: unsafe local path ${local}`);
    child.stdin.end(Buffer.concat([...[...chosen.keys()].map(field), field('')]));
    if (chosen.size === 0) return result;
    await readTar((n) => reader.read(n), async (entry, body) => {
      const local = chosen.get(entry.path);
      // Only what was asked for, once; anything else the box sends is read past, never written.
      if (entry.kind !== 'file' || local === undefined) return;
      chosen.delete(entry.path);
      if (result.bytes + entry.size > limits.maxBytes) {
        throw new CrabboxError('payload_too_large', `the box sent more than ${names.bytes} (${formatBytes(limits.maxBytes)}); copying stopped`, { hint: `the files grew after they were listed; raise ${names.bytes} or try again` });
      }
      open = { fd: createInside(dest, local), path: join(dest, local) };
      for (let chunk = await body.read(1 << 20); chunk.length > 0; chunk = await body.read(1 << 20)) writeSync(open.fd, chunk);
      closeSync(open.fd);
      open = undefined;
      result.bytes += entry.size;
      result.files.push(local);
    });
    return result;
  } catch (error) {
    if (open) {
      closeSync(open.fd);
      unlinkSync(open.path); // a partly written file is no result
    }
    // Stop the box's side and stop reading: what it still sends is dropped, and the exec's streams close.
    child.kill('SIGTERM');
    child.stdout.destroy();
    child.stderr.destroy();
    throw error;
  } finally {
    timer.cancel();
    if (!child.stdin.writableEnded) child.stdin.end();
    await Promise.race([closed, failed.catch(() => undefined)]);
  }
}
