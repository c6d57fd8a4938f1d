import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CrabboxError } from '../domain/errors.ts';
import { fileSystemNow, loadCache, type CacheHead, type DirtyEntry, type LoadedCache } from './cache.ts';
import { CRABBOXIGNORE, excludeRules, type ExcludeRules } from './excludes.ts';
import { gitIndexListing, gitIndexPath, gitSuspects, gitUntracked, type IndexId } from './git.ts';
import { identify, kindOf, lstatExact, statSignature, type FileState } from './identity.ts';
import { compareBytes } from './order.ts';
import { showPath, unsafePathReason } from './paths.ts';
import { encodeRecord, indexEntries, TrackedListing, type TrackedRecord } from './tracked.ts';

/** Bump when anything that decides the box's tree changes meaning (rsync flags, deletion rules, identities). */
export const SYNC_FORMAT = 'crabbox-sync/2';

/** A file changed this recently (ns) may change again within the same timestamp tick: its signature is not kept. */
const RACY_NS = 2_000_000_000n;

/** Everything the next run needs to know about what this run synced (what the cache stores). */
export interface SyncState {
  repoRoot: string;
  settingsKey: string;
  indexPath: string;
  indexSig: string;
  oidLength: 40 | 64;
  tracked: TrackedListing;
  /** The cached listing file, when this state's listing is exactly that one (nothing to write). */
  trackedFile?: CacheHead['tracked'] | undefined;
  /** Index entries flagged `u`: checked every run. */
  always: string[];
  /** Paths git reported as changed or untracked (and `always` paths), with what they hold now. */
  dirty: Map<string, DirtyEntry>;
  fingerprint: string;
  files: number;
  bytes: number;
}

export interface Scan {
  state: SyncState;
  /** The cached state's fingerprint, which `send` and `remove` are relative to; undefined after a full scan. */
  base: string | undefined;
  /** Paths added or changed since `base`, byte-sorted. */
  send: string[];
  /** Paths that left the manifest since `base`, byte-sorted. */
  remove: string[];
  /** True when `state` differs from the cache (a confirmed sync then writes it). */
  changed: boolean;
  /** How the state was found: from the cache and git's change lists, or from scratch. */
  mode: 'incremental' | 'full';
  /** Untracked paths dropped by excludes and untracked folders git lists as such (nested repositories). */
  untrackedExcluded: number;
  untrackedDirectories: string[];
  rules: ExcludeRules;
}

export interface ScanOptions {
  repoRoot: string;
  exclude: readonly string[];
  /** Where the cache of this checkout lives; undefined: no cache (every scan is a full one). */
  cacheDir?: string | undefined;
  /** False when the state will not be written back (sync-plan): no stamp file is made for signatures. */
  writable?: boolean | undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodePath(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new CrabboxError('sync_failed', `file name is not valid UTF-8: ${JSON.stringify(bytes.toString('latin1'))}`, { hint: 'rename the file, or add it to .gitignore' });
  }
}

function checkPath(path: string): void {
  const reason = unsafePathReason(path);
  if (reason) throw new CrabboxError('sync_failed', `refusing to sync ${showPath(path)}: ${reason}`);
}

/**
 * `.crabboxignore`, read at once: it and the index's stat come before git can start, and asynchronous reads waited for
 * an event loop busy loading the CLI. Only a regular file is read (a FIFO would block the read forever).
 */
function readIgnoreFile(repoRoot: string): string | undefined {
  const path = join(repoRoot, CRABBOXIGNORE);
  try {
    if (!statSync(path).isFile()) throw new Error('not a regular file');
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CrabboxError('sync_failed', `cannot read ${CRABBOXIGNORE}: ${(error as Error).message}`);
  }
}

/** Runs `fn` over items with at most `limit` in flight (lstat of many files without exhausting descriptors). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function indexSignature(path: string): string {
  try {
    return statSignature(lstatSync(path, { bigint: true }));
  } catch {
    return 'none';
  }
}

/** A clean file's size from lstat (-1 when it is not a file or symlink any more). */
async function cleanSize(repoRoot: string, path: string): Promise<number> {
  const st = await lstatExact(join(repoRoot, path)).catch(() => undefined);
  const kind = kindOf(st);
  return st && (kind === 'file' || kind === 'symlink') ? Number(st.size) : -1;
}

/**
 * Merges git's index listing with the cached one: unchanged records are copied (with their sizes), new or changed
 * ones get their flag (excludes), and a size from lstat unless git suspects the file (then its size is found when
 * it is clean again). Returns the new listing, the paths whose record changed, and the `u` paths.
 */
async function mergeIndex(options: { repoRoot: string; listing: Buffer; old: TrackedListing | undefined; oidLength: 40 | 64; rules: ExcludeRules; suspects: ReadonlyMap<string, IndexId> }): Promise<{ tracked: TrackedListing; changed: string[]; always: string[] }> {
  const pieces: (Buffer | TrackedRecord)[] = [];
  const fresh: TrackedRecord[] = [];
  const changed: string[] = [];
  const always: string[] = [];
  const oldIter = options.old?.raw()[Symbol.iterator]();
  let old = oldIter?.next();
  const removedUpTo = (path: Buffer | undefined): void => {
    while (old && !old.done && (!path || Buffer.compare(old.value.path, path) < 0)) {
      changed.push(decodePath(old.value.path));
      old = oldIter!.next();
    }
  };
  const prefix = options.old?.prefix ?? 0;
  for (const entry of indexEntries(options.listing)) {
    removedUpTo(entry.path);
    let same: Buffer | undefined;
    if (old && !old.done && old.value.path.equals(entry.path)) {
      const rec = old.value.record;
      const flag = String.fromCharCode(rec[0]!);
      const id = rec.toString('latin1', 1, prefix - 17);
      if (id === entry.id && (flag === 'x' || flag === entry.flag)) same = rec;
      old = oldIter!.next();
    }
    if (same) {
      pieces.push(same);
      if (same[0] === 0x75 /* u */) always.push(decodePath(entry.path));
      continue;
    }
    const path = decodePath(entry.path);
    checkPath(path);
    const flag = entry.flag === 'd' ? 'd' : options.rules.excludes(path, true) ? 'x' : entry.flag;
    const record: TrackedRecord = { path, flag, id: entry.id, size: -1 };
    if (flag === 'u') always.push(path);
    if (flag === '-' && !options.suspects.has(path)) fresh.push(record);
    pieces.push(record);
    if (options.old) changed.push(path);
  }
  removedUpTo(undefined);
  await mapLimit(fresh, 64, async (r) => void (r.size = await cleanSize(options.repoRoot, r.path)));
  const tracked = new TrackedListing(Buffer.concat(pieces.map((p) => (Buffer.isBuffer(p) ? p : encodeRecord(p)))), options.oidLength);
  return { tracked, changed, always };
}

/** The oid length of a listing (64 in a SHA-256 repository), or undefined when the index is empty. */
function listingOidLength(listing: Buffer): 40 | 64 | undefined {
  const first = listing.indexOf(0x09);
  if (first < 0) return undefined;
  const oid = listing.toString('latin1', 0, first).split(' ')[2] ?? '';
  return oid.length === 64 ? 64 : 40;
}

const sameEntry = (a: DirtyEntry | undefined, b: DirtyEntry): boolean => a !== undefined && JSON.stringify(a) === JSON.stringify(b);
const sameState = (a: FileState | null, b: FileState | null): boolean => (a === null ? b === null : b !== null && a.id === b.id);

/** What a tracked record puts in the manifest (null when nothing: excluded, a submodule, or checked every run). */
function fromRecord(record: TrackedRecord | undefined): FileState | null {
  return record && record.flag === '-' ? { id: record.id, size: Math.max(0, record.size) } : null;
}

/** The settings a state depends on besides the files: any change starts from scratch. */
function settingsKeyOf(rules: ExcludeRules): string {
  return createHash('sha256').update(JSON.stringify({ format: SYNC_FORMAT, patterns: rules.patterns })).digest('hex');
}

/** What git and the disk say about a checkout, read before the sync settings are known. */
export interface CheckoutReads {
  repoRoot: string;
  cacheDir: string | undefined;
  loaded: LoadedCache | undefined;
  ignoreText: string | undefined;
  indexPath: string;
  indexSig: string;
  suspects: Map<string, IndexId>;
  untracked: string[];
  /** Git's index listing, read when the cached one cannot be used (undefined: the cache's still holds). */
  listing: Buffer | undefined;
}

/**
 * Starts everything a scan reads (git's change lists, the cache, `.crabboxignore`): none of it depends on config,
 * so the CLI starts it while config and the provider load. A rejection is for the scan to report.
 */
export function readCheckout(repoRoot: string, cacheDir: string | undefined): Promise<CheckoutReads> {
  const reads = (async (): Promise<CheckoutReads> => {
    const ignoreText = readIgnoreFile(repoRoot);
    const loaded = cacheDir ? await loadCache(cacheDir, repoRoot) : undefined;
    const indexPath = loaded && process.env.GIT_INDEX_FILE === undefined ? loaded.head.indexPath : await gitIndexPath(repoRoot);
    // The index may be rewritten while git reads it: its signature before and after the reads must agree.
    for (let attempt = 1; ; attempt++) {
      const indexSig = indexSignature(indexPath);
      const reuseListing = loaded !== undefined && loaded.head.indexSig === indexSig;
      const [suspects, untracked, listing] = await Promise.all([gitSuspects(repoRoot), gitUntracked(repoRoot), reuseListing ? undefined : gitIndexListing(repoRoot)]);
      if (indexSignature(indexPath) === indexSig) return { repoRoot, cacheDir, loaded, ignoreText, indexPath, indexSig, suspects, untracked, listing };
      if (attempt >= 3) throw new CrabboxError('sync_failed', 'the git index kept changing while crabbox read it', { hint: 'wait for the git command that is running to finish, then try again' });
    }
  })();
  reads.catch(() => undefined);
  return reads;
}

/**
 * Finds what a sync of this checkout sends, at the cost of what git already knows: with a cache, git lists the
 * tracked files whose stat data changed (`diff-files`) and the untracked files, and only those are read; the index
 * listing is read again only when the index file itself changed. Without a (usable) cache every file is listed.
 * `reads` are git's answers started earlier (readCheckout); they are read here when absent.
 */
export async function scanCheckout(options: ScanOptions, reads?: Promise<CheckoutReads>): Promise<Scan> {
  const { repoRoot, cacheDir } = options;
  let r = await (reads ?? readCheckout(repoRoot, cacheDir));
  const rules = excludeRules({ configured: options.exclude, crabboxignore: r.ignoreText });
  const settingsKey = settingsKeyOf(rules);
  let cache: LoadedCache | undefined = r.loaded?.head.settingsKey === settingsKey ? r.loaded : undefined;
  if (!cache && !r.listing) {
    // The cache was made with other settings: its listing cannot be used, so git's is needed after all.
    r = await readCheckout(repoRoot, undefined);
  }
  if (cache && r.listing && (listingOidLength(r.listing) ?? cache.head.oidLength) !== cache.head.oidLength) cache = undefined;
  const oldTracked = cache && r.listing ? await cache.tracked() : undefined;
  if (cache && r.listing && !oldTracked) cache = undefined; // the cached listing is gone or corrupt: start over
  const input: ScanInput = { repoRoot, rules, settingsKey, stampDir: options.writable === false ? undefined : cacheDir, cache, indexPath: r.indexPath, indexSig: r.indexSig, suspects: r.suspects, untracked: r.untracked, listing: r.listing, oldTracked };
  const scan = await scanWith(input);
  if (scan) return scan;
  // The cached listing turned out unreadable mid-way: start over without the cache.
  const fresh = r.listing ? r : await readCheckout(repoRoot, undefined);
  return (await scanWith({ ...input, indexPath: fresh.indexPath, indexSig: fresh.indexSig, suspects: fresh.suspects, untracked: fresh.untracked, listing: fresh.listing, cache: undefined, oldTracked: undefined }))!;
}

interface ScanInput {
  repoRoot: string;
  rules: ExcludeRules;
  settingsKey: string;
  /** Where the file-system clock stamp goes; undefined: signatures are not recorded (nothing will be written). */
  stampDir: string | undefined;
  cache: LoadedCache | undefined;
  indexPath: string;
  indexSig: string;
  suspects: Map<string, IndexId>;
  untracked: string[];
  /** Git's listing when the index changed (or there is no cache); undefined when the cached one still holds. */
  listing: Buffer | undefined;
  oldTracked: TrackedListing | undefined;
}

/** One scan given git's answers; undefined when the cache proves unusable (the caller starts over without it). */
async function scanWith(input: ScanInput): Promise<Scan | undefined> {
  const { repoRoot, rules, cache } = input;
  const head: CacheHead | undefined = cache?.head;
  const oidLength: 40 | 64 = (input.listing && listingOidLength(input.listing)) ?? head?.oidLength ?? 40;

  // The index listing: the cached one (loaded only if a lookup needs it), or git's merged with the cached one.
  let tracked: TrackedListing | undefined;
  let indexChanged: string[] = [];
  let always: string[];
  if (input.listing) {
    const merged = await mergeIndex({ repoRoot, listing: input.listing, old: input.oldTracked, oidLength, rules, suspects: input.suspects });
    tracked = merged.tracked;
    indexChanged = merged.changed;
    always = merged.always;
  } else {
    always = head!.always;
  }
  let trackedPatched = false;
  const loadTracked = async (): Promise<TrackedListing | undefined> => (tracked ??= await cache!.tracked());

  // What git says may differ: tracked files whose stat data changed, `u` entries, untracked files.
  const candidates = new Map<string, { tracked: boolean; index?: IndexId | undefined }>();
  for (const [path, index] of input.suspects) if (!rules.excludes(path, true)) candidates.set(path, { tracked: true, index });
  for (const path of always) if (!candidates.has(path)) candidates.set(path, { tracked: true });
  let untrackedExcluded = 0;
  const untrackedDirectories: string[] = [];
  for (const path of input.untracked) {
    if (path.endsWith('/')) {
      untrackedDirectories.push(path.slice(0, -1));
      continue;
    }
    checkPath(path);
    if (rules.excludes(path, false)) untrackedExcluded++;
    else candidates.set(path, { tracked: false });
  }

  const oldDirty = new Map(head?.dirty ?? []);
  const algorithm = oidLength === 64 ? 'sha256' : 'sha1';
  let fsNow: Promise<bigint> | undefined;
  const paths = [...candidates.keys()];
  const entries = await mapLimit(paths, 64, async (path): Promise<DirtyEntry | undefined> => {
    const c = candidates.get(path)!;
    const prev = oldDirty.get(path);
    const entry: DirtyEntry = { tracked: c.tracked, now: null };
    if (c.tracked) {
      let id = c.index ? `${c.index.mode} ${c.index.oid}` : undefined;
      let size = -1;
      if (prev?.index && (id === undefined || prev.index.id === id) && !input.listing) {
        id = prev.index.id;
        size = prev.index.size;
      } else {
        const listing = await loadTracked();
        if (!listing) return undefined;
        const record = listing.get(path);
        id ??= record?.id ?? 'none';
        size = record?.id === id ? record.size : -1;
      }
      entry.index = { id, size };
    }
    const st = await lstatExact(join(repoRoot, path));
    const kind = kindOf(st);
    if (kind === 'directory') entry.dir = true;
    if (!st || (kind !== 'file' && kind !== 'symlink')) return entry;
    const sig = statSignature(st);
    if (prev?.now && prev.sig === sig) {
      entry.now = prev.now;
      entry.sig = sig;
      return entry;
    }
    entry.now = (await identify(join(repoRoot, path), st, algorithm)) ?? null;
    if (input.stampDir && entry.now) {
      fsNow ??= fileSystemNow(input.stampDir);
      const newest = st.mtimeNs > st.ctimeNs ? st.mtimeNs : st.ctimeNs;
      if (newest < (await fsNow) - RACY_NS) entry.sig = sig;
    }
    return entry;
  });
  if (entries.some((e) => e === undefined)) return undefined;
  const dirty = new Map<string, DirtyEntry>();
  paths.forEach((p, i) => dirty.set(p, entries[i]!));

  if (!cache) return fullScan({ input, tracked: tracked!, always, dirty, oidLength, untrackedExcluded, untrackedDirectories });

  // What each candidate path held before (the cached state) and holds now.
  const oldTracked = input.listing ? input.oldTracked : undefined;
  const before = async (path: string): Promise<FileState | null> => {
    const d = oldDirty.get(path);
    if (d) return d.now;
    if (oldTracked) return fromRecord(oldTracked.get(path));
    const now = dirty.get(path);
    if (now) return now.index && now.index.id !== 'none' && now.tracked ? { id: now.index.id, size: Math.max(0, now.index.size) } : null;
    return fromRecord((await loadTracked())?.get(path));
  };
  const after = async (path: string): Promise<FileState | null> => {
    const d = dirty.get(path);
    if (d) return d.now;
    const prev = oldDirty.get(path);
    let state: FileState | null;
    let known = true;
    if (!input.listing && prev && !prev.tracked) {
      state = null; // an untracked file that went away or is ignored now (becoming tracked would change the index)
    } else if (!input.listing && prev?.tracked && prev.index && prev.index.id !== 'none') {
      state = { id: prev.index.id, size: prev.index.size };
      known = prev.index.size >= 0;
    } else {
      const record = (await loadTracked())?.get(path);
      state = fromRecord(record);
      known = !record || record.size >= 0;
    }
    if (state && !known) {
      // A file that was changed when its index entry was recorded is clean now: its size is that of the file.
      state.size = Math.max(0, await cleanSize(repoRoot, path));
      (await loadTracked())?.setSize(path, state.size);
      trackedPatched = true;
    }
    return state;
  };

  const touched = new Set<string>([...oldDirty.keys(), ...dirty.keys(), ...indexChanged]);
  const send: string[] = [];
  const remove: string[] = [];
  let files = head!.files;
  let bytes = head!.bytes;
  const records: string[] = [];
  for (const path of [...touched].sort(compareBytes)) {
    const [was, now] = [await before(path), await after(path)];
    if (sameState(was, now)) continue;
    if (now) send.push(path);
    else remove.push(path);
    files += (now ? 1 : 0) - (was ? 1 : 0);
    bytes += (now?.size ?? 0) - (was?.size ?? 0);
    records.push(`${path}\0${now?.id ?? '-'}\0`);
  }
  const fingerprint = records.length === 0
    ? head!.fingerprint
    : createHash('sha256').update(`${SYNC_FORMAT} change\n${head!.fingerprint}\n`).update(records.join('')).digest('hex');
  const listingNow = tracked;
  const dirtyChanged = dirty.size !== oldDirty.size || [...dirty].some(([p, e]) => !sameEntry(oldDirty.get(p), e));
  const state: SyncState = {
    repoRoot, settingsKey: input.settingsKey, indexPath: input.indexPath, indexSig: input.indexSig, oidLength,
    // Not loaded: the cached listing still holds and is written back as it is (see commit in prepare.ts).
    tracked: listingNow ?? LAZY,
    trackedFile: input.listing || trackedPatched ? undefined : head!.tracked,
    always, dirty, fingerprint, files, bytes: Math.max(0, bytes),
  };
  if (!listingNow) lazyListings.set(state, loadTracked);
  return {
    state, base: head!.fingerprint, send, remove,
    changed: dirtyChanged || records.length > 0 || input.listing !== undefined || trackedPatched || head!.indexSig !== input.indexSig,
    mode: 'incremental', untrackedExcluded, untrackedDirectories, rules,
  };
}

/** Stands in for a listing the scan did not need to read; `trackedOf` reads it when someone does. */
const LAZY = new TrackedListing(Buffer.alloc(0), 40);
const lazyListings = new WeakMap<SyncState, () => Promise<TrackedListing | undefined>>();

/** The index listing of a state, read from the cache if the scan did not need it. */
export async function trackedOf(state: SyncState): Promise<TrackedListing> {
  if (state.tracked !== LAZY) return state.tracked;
  const listing = await lazyListings.get(state)?.();
  if (!listing) throw new CrabboxError('sync_failed', 'the sync cache changed while crabbox used it', { hint: 'run the command again' });
  return listing;
}

/** A manifest entry: a path the box gets, with what it holds. */
export interface StateEntry {
  path: string;
  state: FileState;
  tracked: boolean;
}

/** Every path of the state's manifest in byte order: clean index entries and the changed or untracked files. */
export async function* stateEntries(state: SyncState): AsyncGenerator<StateEntry> {
  const dirty = [...state.dirty].filter(([, e]) => e.now !== null).sort(([a], [b]) => compareBytes(a, b));
  let i = 0;
  for (const record of (await trackedOf(state)).records()) {
    while (i < dirty.length && compareBytes(dirty[i]![0], record.path) < 0) {
      const [path, e] = dirty[i++]!;
      yield { path, state: e.now!, tracked: e.tracked };
    }
    if (i < dirty.length && dirty[i]![0] === record.path) {
      const [path, e] = dirty[i++]!;
      yield { path, state: e.now!, tracked: e.tracked };
      continue;
    }
    if (record.flag === '-' && !state.dirty.has(record.path)) yield { path: record.path, state: { id: record.id, size: Math.max(0, record.size) }, tracked: true };
  }
  for (; i < dirty.length; i++) yield { path: dirty[i]![0], state: dirty[i]![1].now!, tracked: dirty[i]![1].tracked };
}

/** A full scan: totals and the fingerprint from every entry. */
async function fullScan(o: { input: ScanInput; tracked: TrackedListing; always: string[]; dirty: Map<string, DirtyEntry>; oidLength: 40 | 64; untrackedExcluded: number; untrackedDirectories: string[] }): Promise<Scan> {
  const { input } = o;
  const state: SyncState = {
    repoRoot: input.repoRoot, settingsKey: input.settingsKey, indexPath: input.indexPath, indexSig: input.indexSig, oidLength: o.oidLength,
    tracked: o.tracked, always: o.always, dirty: o.dirty, fingerprint: '', files: 0, bytes: 0,
  };
  // Clean files whose size is not known yet (git suspected them, they turned out to equal the index).
  for (const [path, e] of o.dirty) {
    if (e.index && e.index.size < 0 && e.now && e.now.id === e.index.id) o.tracked.setSize(path, e.now.size);
  }
  const hash = createHash('sha256').update(`${SYNC_FORMAT} full\n${input.settingsKey}\n`);
  for await (const entry of stateEntries(state)) {
    state.files++;
    state.bytes += entry.state.size;
    hash.update(`${entry.path}\0${entry.state.id}\0`);
  }
  state.fingerprint = hash.digest('hex');
  return { state, base: undefined, send: [], remove: [], changed: true, mode: 'full', untrackedExcluded: o.untrackedExcluded, untrackedDirectories: o.untrackedDirectories, rules: input.rules };
}
