import { CrabboxError } from '../domain/errors.ts';

/** What a tar entry is, as far as a download cares: a regular file, or something that is never written. */
export interface TarEntry {
  path: string;
  size: number;
  kind: 'file' | 'other';
}

/** Reads exactly `n` bytes, or fewer at the end of the stream. */
export type ReadBytes = (n: number) => Promise<Buffer>;

const BLOCK = 512;

const malformed = (what: string): CrabboxError => new CrabboxError('ssh_failed', `the box sent a malformed archive (${what})`);

/** A NUL-terminated text field of a header. */
function text(header: Buffer, start: number, length: number): string {
  const raw = header.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? raw.length : end).toString('utf8');
}

/** The size field: octal, or GNU base-256 for large sizes (high bit set). */
function sizeOf(header: Buffer): number {
  const field = header.subarray(124, 136);
  if (field[0]! & 0x80) {
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    if (!Number.isSafeInteger(n)) throw malformed('size');
    return n;
  }
  const digits = text(header, 124, 12).trim();
  if (!/^[0-7]*$/.test(digits)) throw malformed('size');
  return digits === '' ? 0 : parseInt(digits, 8);
}

/** True when the header's checksum is right (the sum of its bytes with the checksum field read as spaces). */
function checksumOk(header: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
  const stored = text(header, 148, 8).trim();
  return /^[0-7]+$/.test(stored) && parseInt(stored, 8) === sum;
}

/** The `path` record of a pax extended header, if it has one. */
function paxPath(data: Buffer): string | undefined {
  let at = 0;
  let path: string | undefined;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const length = Number(data.subarray(at, space).toString('latin1'));
    if (!Number.isInteger(length) || length <= 0 || at + length > data.length) throw malformed('pax header');
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    if (record.startsWith('path=')) path = record.slice(5);
    at += length;
  }
  return path;
}

/**
 * Reads a tar stream (GNU or ustar, with GNU long names and pax paths) entry by entry: `onEntry` gets each entry and
 * a reader of exactly its bytes, which it must consume (`skip` does so). Ends at the end-of-archive blocks or the end
 * of the stream. Long-name records are capped, so a hostile stream cannot make it buffer much.
 */
export async function readTar(read: ReadBytes, onEntry: (entry: TarEntry, body: { read: (n: number) => Promise<Buffer>; skip: () => Promise<void> }) => Promise<void>): Promise<void> {
  let longName: string | undefined;
  for (;;) {
    const header = await read(BLOCK);
    if (header.length === 0) return;
    if (header.length < BLOCK) throw malformed('truncated header');
    if (header.every((b) => b === 0)) return;
    if (!checksumOk(header)) throw malformed('checksum');
    const type = String.fromCharCode(header[156]!);
    const size = sizeOf(header);
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L' || type === 'x') {
      if (size > 64 * 1024) throw malformed('a name over 64 KiB');
      const data = await read(padded);
      if (data.length < padded) throw malformed('truncated name');
      longName = type === 'L' ? text(data, 0, size) : paxPath(data.subarray(0, size)) ?? longName;
      continue;
    }
    let path = longName;
    longName = undefined;
    if (path === undefined) {
      const name = text(header, 0, 100);
      const prefix = header.subarray(257, 262).toString('latin1') === 'ustar' ? text(header, 345, 155) : '';
      path = prefix ? `${prefix}/${name}` : name;
    }
    let left = size;
    const body = {
      read: async (n: number): Promise<Buffer> => {
        const chunk = await read(Math.min(n, left));
        if (chunk.length === 0 && left > 0) throw malformed('truncated file');
        left -= chunk.length;
        return chunk;
      },
      skip: async (): Promise<void> => {
        while (left > 0) await body.read(64 * 1024);
      },
    };
    const kind = type === '0' || type === '\0' || type === '7' ? 'file' : 'other';
    await onEntry({ path, size, kind }, body);
    await body.skip();
    const pad = padded - size;
    if (pad > 0 && (await read(pad)).length < pad) throw malformed('truncated padding');
  }
}

/** Buffers an async byte stream so a parser can ask for exact counts and NUL-terminated records. */
export class ByteReader {
  readonly #iterator: AsyncIterator<Buffer>;
  #buffer: Buffer = Buffer.alloc(0);
  #done = false;

  constructor(stream: AsyncIterable<Buffer>) {
    this.#iterator = stream[Symbol.asyncIterator]();
  }

  async #more(): Promise<boolean> {
    if (this.#done) return false;
    const next = await this.#iterator.next();
    if (next.done) {
      this.#done = true;
      return false;
    }
    this.#buffer = this.#buffer.length === 0 ? next.value : Buffer.concat([this.#buffer, next.value]);
    return true;
  }

  /** Up to `n` bytes (fewer only at the end of the stream). */
  async read(n: number): Promise<Buffer> {
    while (this.#buffer.length < n && (await this.#more()));
    const out = this.#buffer.subarray(0, n);
    this.#buffer = this.#buffer.subarray(out.length);
    return out;
  }

  /** The next NUL-terminated record (without its NUL), or undefined at the end of the stream; at most `max` bytes. */
  async record(max: number): Promise<string | undefined> {
    for (;;) {
      const nul = this.#buffer.indexOf(0);
      if (nul >= 0) {
        const out = this.#buffer.subarray(0, nul).toString('utf8');
        this.#buffer = this.#buffer.subarray(nul + 1);
        return out;
      }
      if (this.#buffer.length > max) throw malformed('a listing record too long');
      if (!(await this.#more())) return undefined;
    }
  }
}
