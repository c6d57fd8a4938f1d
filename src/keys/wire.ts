/**
 * The SSH wire encoding (RFC 4251 §5: uint32, length-prefixed string) and base64, in plain code: no node:* import,
 * so the same module runs on Node and on Cloudflare Workers.
 */

const encoder = new TextEncoder();

/** Builds an SSH wire buffer from uint32s and length-prefixed strings. */
export class WireWriter {
  readonly #parts: Uint8Array[] = [];
  #length = 0;

  raw(bytes: Uint8Array): this {
    this.#parts.push(bytes);
    this.#length += bytes.length;
    return this;
  }

  uint32(value: number): this {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, value >>> 0);
    return this.raw(bytes);
  }

  /** A uint64 from a non-negative safe integer (certificate serials and validity times). */
  uint64(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error('uint64 needs a non-negative safe integer');
    return this.uint32(Math.floor(value / 2 ** 32)).uint32(value % 2 ** 32);
  }

  /** A `string`: uint32 length, then the bytes (text is UTF-8). */
  string(value: Uint8Array | string): this {
    const bytes = typeof value === 'string' ? encoder.encode(value) : value;
    return this.uint32(bytes.length).raw(bytes);
  }

  get length(): number {
    return this.#length;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.#length);
    let at = 0;
    for (const part of this.#parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

/** Reads an SSH wire buffer; every read past the end throws (a truncated or hostile blob). */
export class WireReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #at = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  raw(length: number): Uint8Array {
    if (length < 0 || this.#at + length > this.#bytes.length) throw new Error('truncated SSH wire data');
    const out = this.#bytes.subarray(this.#at, this.#at + length);
    this.#at += length;
    return out;
  }

  uint32(): number {
    const at = this.#at;
    this.raw(4);
    return this.#view.getUint32(at);
  }

  string(): Uint8Array {
    return this.raw(this.uint32());
  }

  text(): string {
    return new TextDecoder('utf-8', { fatal: true }).decode(this.string());
  }

  get done(): boolean {
    return this.#at === this.#bytes.length;
  }
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECODE = new Map([...ALPHABET, '-', '_'].map((ch, i) => [ch, i < 64 ? i : i === 64 ? 62 : 63]));

/** Standard base64 with padding. */
export function base64(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += `${ALPHABET[n >> 18]!}${ALPHABET[(n >> 12) & 63]!}==`;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += `${ALPHABET[n >> 18]!}${ALPHABET[(n >> 12) & 63]!}${ALPHABET[(n >> 6) & 63]!}=`;
  }
  return out;
}

/** Decodes base64 or base64url, padded or not. Throws on any other character. */
export function fromBase64(text: string): Uint8Array {
  const clean = text.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let at = 0;
  for (const ch of clean) {
    const digit = DECODE.get(ch);
    if (digit === undefined) throw new Error('invalid base64');
    value = (value << 6) | digit;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (value >> bits) & 0xff;
    }
  }
  return out.subarray(0, at);
}
