/**
 * The index as the sync cache keeps it: one record per tracked path, sorted by path bytes, each
 * `<flag><mode> <oid> <size> <path>` NUL-terminated with a fixed-width prefix, so a path is found by binary search
 * without reading the rest, and two listings merge in one pass.
 *
 * Flags: `-` synced from the index entry; `x` excluded by sync rules; `d` a submodule (never synced); `u` the index
 * cannot vouch for the working tree (unmerged, assume-unchanged, skip-worktree), so the file is checked every run.
 */
export type TrackedFlag = '-' | 'x' | 'd' | 'u';

export interface TrackedRecord {
  path: string;
  flag: TrackedFlag;
  /** `<mode> <oid>`, as in FileState.id. */
  id: string;
  /** The clean file's size; -1 when not known yet (the file was changed when the entry was recorded). */
  size: number;
}

const SIZE_WIDTH = 15;

/** Prefix length of a record: flag, mode, space, oid, space, size, space. */
export function prefixLength(oidLength: number): number {
  return 1 + 6 + 1 + oidLength + 1 + SIZE_WIDTH + 1;
}

export function encodeRecord(record: TrackedRecord): Buffer {
  const size = record.size < 0 ? '-'.padStart(SIZE_WIDTH) : String(record.size).padStart(SIZE_WIDTH);
  return Buffer.from(`${record.flag}${record.id} ${size} ${record.path}\0`, 'utf8');
}

function decodeAt(buf: Buffer, start: number, end: number, prefix: number): TrackedRecord {
  const head = buf.toString('latin1', start, start + prefix);
  const size = head.slice(prefix - SIZE_WIDTH - 1, prefix - 1).trim();
  return {
    flag: head[0] as TrackedFlag,
    id: head.slice(1, prefix - SIZE_WIDTH - 2),
    size: size === '-' ? -1 : Number(size),
    path: buf.toString('utf8', start + prefix, end),
  };
}

/** A read-only view of an encoded listing. */
export class TrackedListing {
  readonly buf: Buffer;
  readonly prefix: number;

  constructor(buf: Buffer, oidLength: number) {
    this.buf = buf;
    this.prefix = prefixLength(oidLength);
  }

  /** The record for `path`, by binary search over byte offsets. */
  get(path: string): TrackedRecord | undefined {
    const at = this.#find(path);
    return at === undefined ? undefined : decodeAt(this.buf, at, this.buf.indexOf(0, at), this.prefix);
  }

  /** Records the size of a clean file whose size was not known (the width is fixed, so it is written in place). */
  setSize(path: string, size: number): void {
    const at = this.#find(path);
    if (at === undefined || size < 0) return;
    this.buf.write(String(size).padStart(SIZE_WIDTH), at + this.prefix - SIZE_WIDTH - 1, 'latin1');
  }

  #find(path: string): number | undefined {
    const { buf, prefix } = this;
    const want = Buffer.from(path, 'utf8');
    let lo = 0;
    let hi = buf.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const start = mid === 0 ? 0 : buf.lastIndexOf(0, mid - 1) + 1;
      const end = buf.indexOf(0, start);
      if (end < 0) return undefined;
      const cmp = Buffer.compare(buf.subarray(start + prefix, end), want);
      if (cmp === 0) return start;
      if (cmp < 0) lo = end + 1;
      else hi = start;
    }
    return undefined;
  }

  /** Every record in path order. */
  *records(): Generator<TrackedRecord> {
    const { buf, prefix } = this;
    for (let at = 0; at < buf.length;) {
      const end = buf.indexOf(0, at);
      yield decodeAt(buf, at, end, prefix);
      at = end + 1;
    }
  }

  /** Raw records in path order: the path bytes and the whole record, for merging without decoding. */
  *raw(): Generator<{ path: Buffer; record: Buffer }> {
    const { buf, prefix } = this;
    for (let at = 0; at < buf.length;) {
      const end = buf.indexOf(0, at);
      yield { path: buf.subarray(at + prefix, end), record: buf.subarray(at, end + 1) };
      at = end + 1;
    }
  }
}

/** One entry of `git ls-files -z -s -v`, stages folded together. */
export interface IndexEntry {
  path: Buffer;
  /** `-`, `d` or `u` (see TrackedFlag); exclusion is decided by the caller. */
  flag: Exclude<TrackedFlag, 'x'>;
  id: string;
}

/** Parses `ls-files -z -s -v` output (`<tag> <mode> <oid> <stage>\t<path>` NUL), one entry per path. */
export function* indexEntries(listing: Buffer): Generator<IndexEntry> {
  let pending: IndexEntry | undefined;
  for (let at = 0; at < listing.length;) {
    let end = listing.indexOf(0, at);
    if (end < 0) end = listing.length;
    const tab = listing.indexOf(0x09, at);
    if (tab < 0 || tab > end) throw new Error('unexpected ls-files output');
    const [tag = '', mode = '', oid = '', stage = ''] = listing.toString('latin1', at, tab).split(' ');
    const path = listing.subarray(tab + 1, end);
    at = end + 1;
    const flag: IndexEntry['flag'] = mode === '160000' ? 'd' : tag === 'H' && stage === '0' ? '-' : 'u';
    if (pending && pending.path.equals(path)) {
      // Unmerged: several stages of one path. The working tree decides what is synced.
      if (pending.flag !== 'd') pending.flag = 'u';
      continue;
    }
    if (pending) yield pending;
    pending = { path, flag, id: `${mode} ${oid}` };
  }
  if (pending) yield pending;
}
