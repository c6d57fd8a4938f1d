import { StringDecoder } from 'node:string_decoder';
import { StreamRedactor } from '../redact/stream.ts';
import type { StoredLogTail } from './record.ts';

export const DEFAULT_LOG_TAIL_BYTES = 64 * 1024;

/**
 * Keeps the last `maxBytes` of a run's combined output, redacted on the way in (through the streaming redactor, so a
 * secret split across chunks is still caught). Memory stays bounded by maxBytes plus one chunk.
 */
export class LogTail {
  readonly #maxBytes: number;
  readonly #decoder = new StringDecoder('utf8');
  readonly #redactor = new StreamRedactor();
  #chunks: Buffer[] = [];
  #held = 0;
  #totalBytes = 0;
  #dropped = false;
  #closed = false;

  constructor(options: { maxBytes?: number } = {}) {
    this.#maxBytes = Math.max(0, Math.floor(options.maxBytes ?? DEFAULT_LOG_TAIL_BYTES));
  }

  /** Adds output (stdout and stderr interleaved as they arrive). */
  write(chunk: Buffer | string): void {
    if (this.#closed) return;
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.#totalBytes += bytes.length;
    this.#append(this.#redactor.push(this.#decoder.write(bytes)));
  }

  /** Flushes held-back text; later writes are ignored. */
  close(): void {
    if (this.#closed) return;
    this.#append(this.#redactor.push(this.#decoder.end()) + this.#redactor.end());
    this.#closed = true;
  }

  /** The tail so far (without a still-incomplete last line unless closed). */
  snapshot(): StoredLogTail {
    let buf = Buffer.concat(this.#chunks);
    let truncated = this.#dropped;
    if (buf.length > this.#maxBytes) {
      buf = buf.subarray(buf.length - this.#maxBytes);
      truncated = true;
    }
    // Never start in the middle of a UTF-8 character.
    let start = 0;
    while (start < buf.length && start < 4 && (buf[start]! & 0xc0) === 0x80) start++;
    return { text: buf.subarray(start).toString('utf8'), totalBytes: this.#totalBytes, truncated };
  }

  /** Closes and returns the final tail. */
  finish(): StoredLogTail {
    this.close();
    return this.snapshot();
  }

  #append(text: string): void {
    if (text === '' || this.#maxBytes === 0) {
      if (text !== '') this.#dropped = true;
      return;
    }
    const buf = Buffer.from(text);
    this.#chunks.push(buf);
    this.#held += buf.length;
    while (this.#chunks.length > 1 && this.#held - this.#chunks[0]!.length >= this.#maxBytes) {
      this.#held -= this.#chunks.shift()!.length;
      this.#dropped = true;
    }
    if (this.#held > 4 * this.#maxBytes) {
      const joined = Buffer.concat(this.#chunks);
      this.#chunks = [joined.subarray(joined.length - this.#maxBytes)];
      this.#held = this.#maxBytes;
      this.#dropped = true;
    }
  }
}
