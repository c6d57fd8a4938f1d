import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { lstat, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as z from 'zod';
import { writeFileAtomic } from '../fs/atomic-write.ts';
import { TrackedListing } from './tracked.ts';
import { readSmall } from '../fs/small-read.ts';

/**
 * The sync cache of one checkout: what the last sync a box confirmed was made of, so the next run asks git what
 * changed since instead of reading the whole tree. It lives under the crabbox state folder, never in the checkout:
 *
 * - `head`: a checksum line, then JSON: the settings it was made with, the index file's stat signature, the files
 *   git reported as changed or untracked (with their identities and stat signatures), totals and the fingerprint;
 * - `tracked-<sha256>`: the index listing (src/sync/tracked.ts) that `head` names, checked against its hash.
 *
 * Anything that does not load, parse or check out is ignored, and the run builds the state from scratch.
 * See docs/decisions/0025-sync-follows-the-change.md.
 */
export const CACHE_FORMAT = 'crabbox-sync-cache/1';

const fileState = z.strictObject({ id: z.string().regex(/^(100644|100755|120000) [0-9a-f]{40,64}$/), size: z.number().int().min(0) });

const dirtyEntry = z.strictObject({
  tracked: z.boolean(),
  /** The path now; null when nothing is synced there (missing, a folder, a socket). */
  now: fileState.nullable(),
  /** A folder where the index has a file. */
  dir: z.boolean().optional(),
  /** For tracked paths: the index entry's identity and the clean file's size (-1 = unknown). */
  index: z.strictObject({ id: z.string().min(1), size: z.number().int().min(-1) }).optional(),
  /** The lstat signature `now` was computed at; absent when the file was too fresh to trust it. */
  sig: z.string().optional(),
});
export type DirtyEntry = z.infer<typeof dirtyEntry>;

const head = z.strictObject({
  format: z.literal(CACHE_FORMAT),
  repoRoot: z.string(),
  settingsKey: z.string(),
  indexPath: z.string(),
  /** Stat signature of the index file the tracked listing was read from. */
  indexSig: z.string(),
  oidLength: z.union([z.literal(40), z.literal(64)]),
  tracked: z.strictObject({ file: z.string().regex(/^tracked-[0-9a-f]{64}$/), bytes: z.number().int().min(0) }),
  /** Paths whose index entry cannot vouch for the working tree (flag `u`): checked every run. */
  always: z.array(z.string()),
  dirty: z.array(z.tuple([z.string(), dirtyEntry])),
  fingerprint: z.string().regex(/^[0-9a-f]{64}$/),
  files: z.number().int().min(0),
  bytes: z.number().min(0),
});
export type CacheHead = z.infer<typeof head>;

export interface LoadedCache {
  head: CacheHead;
  /** Reads and checks the tracked listing; undefined when it is missing or does not match its hash. */
  tracked(): Promise<TrackedListing | undefined>;
}

/** The cache folder of a checkout: `<state>/sync/<hash of the checkout path>`. */
export function cacheDirFor(stateDir: string, repoRoot: string): string {
  return join(stateDir, 'sync', createHash('sha256').update(repoRoot).digest('hex').slice(0, 24));
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** Loads the cache; undefined when there is none or it is unreadable, corrupt, or from another checkout or format. */
export async function loadCache(dir: string, repoRoot: string): Promise<LoadedCache | undefined> {
  const text = readSmall(join(dir, 'head'));
  if (text === undefined) return undefined;
  const nl = text.indexOf('\n');
  if (nl !== 64 || sha256(text.slice(nl + 1)) !== text.slice(0, nl)) return undefined;
  let parsed: CacheHead;
  try {
    parsed = head.parse(JSON.parse(text.slice(nl + 1)));
  } catch {
    return undefined;
  }
  if (parsed.repoRoot !== repoRoot) return undefined;
  let listing: Promise<TrackedListing | undefined> | undefined;
  return {
    head: parsed,
    tracked: () => (listing ??= readTracked(dir, parsed)),
  };
}

async function readTracked(dir: string, h: CacheHead): Promise<TrackedListing | undefined> {
  try {
    const buf = await readFile(join(dir, h.tracked.file));
    // The name is the content's hash: a file that matches it is the one that was written, framing and all.
    if (buf.length !== h.tracked.bytes || `tracked-${sha256(buf)}` !== h.tracked.file) return undefined;
    return new TrackedListing(buf, h.oidLength);
  } catch {
    return undefined;
  }
}

/**
 * Writes the cache: the tracked listing under its own hash first, then `head` by rename, then older listings go.
 * Readers see the old head or the new one, each with the listing it names. Not fsynced: losing it costs one full scan.
 */
export function saveCache(dir: string, h: Omit<CacheHead, 'tracked' | 'format'>, tracked: Buffer | CacheHead['tracked']): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let listing = tracked as CacheHead['tracked'];
  if (Buffer.isBuffer(tracked)) {
    listing = { file: `tracked-${sha256(tracked)}`, bytes: tracked.length };
    writeFileAtomic(join(dir, listing.file), tracked, { durable: false });
  }
  const file = listing.file;
  const full: CacheHead = { format: CACHE_FORMAT, ...h, tracked: listing };
  const body = JSON.stringify(full);
  writeFileAtomic(join(dir, 'head'), `${sha256(body)}\n${body}`, { durable: false });
  for (const name of readdirSync(dir)) if (name.startsWith('tracked-') && name !== file) rmSync(join(dir, name), { force: true });
}

/**
 * The file system's idea of "now" (the mtime of a file written just now), for telling whether a file changed too
 * recently for its stat signature to be trusted. Taken from the file system, not the clock, because that is where
 * the timestamps it is compared with come from.
 */
export async function fileSystemNow(dir: string): Promise<bigint> {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stamp = join(dir, 'stamp');
    await writeFile(stamp, '', { mode: 0o600 });
    return (await lstat(stamp, { bigint: true })).mtimeNs;
  } catch {
    return 0n; // no stamp: every signature counts as too fresh, so files are read again next time
  }
}

const DAY_NS = 86_400n * 1_000_000_000n;

const mtimeNs = (path: string): bigint | undefined => lstatSync(path, { bigint: true, throwIfNoEntry: false })?.mtimeNs;

/**
 * Marks a checkout's cache as used (its `stamp` file, written now) and, at most once a day per state folder, removes
 * the caches of checkouts that are gone (no `.git` where they were) or unused for 30 days, and leftovers without a
 * head. Ages are file times against the file system's own "now". Errors are ignored: this is housekeeping.
 */
export function markUsedAndPrune(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, 'stamp'), '', { mode: 0o600 });
    const now = mtimeNs(join(dir, 'stamp'))!;
    const root = dirname(dir);
    const pruned = mtimeNs(join(root, '.pruned'));
    if (pruned !== undefined && now - pruned < DAY_NS) return;
    writeFileSync(join(root, '.pruned'), '', { mode: 0o600 });
    for (const name of readdirSync(root)) {
      const other = join(root, name);
      if (!/^[0-9a-f]{24}$/.test(name) || other === dir) continue;
      const used = [mtimeNs(join(other, 'stamp')), mtimeNs(join(other, 'head')), mtimeNs(other)].reduce((a, b) => (b !== undefined && (a === undefined || b > a) ? b : a));
      let repoRoot: string | undefined;
      try {
        const text = readFileSync(join(other, 'head'), 'utf8');
        repoRoot = (JSON.parse(text.slice(text.indexOf('\n') + 1)) as { repoRoot?: unknown }).repoRoot as string | undefined;
      } catch {
        repoRoot = undefined;
      }
      const gone = typeof repoRoot === 'string' ? !existsSync(join(repoRoot, '.git')) : now - (used ?? now) > DAY_NS;
      if (gone || now - (used ?? now) > 30n * DAY_NS) rmSync(other, { recursive: true, force: true });
    }
  } catch {
    // tried again on a later run
  }
}
