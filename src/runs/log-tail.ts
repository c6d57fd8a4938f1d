import { longestSecretLength, redact } from '../redact/redact.ts';
import type { StoredLogTail } from './record.ts';

export const DEFAULT_LOG_TAIL_BYTES = 64 * 1024;

/** Raw bytes kept beyond the limit, so the cut edge can be dropped whole before redacting. */
const MARGIN_BYTES = 64 * 1024;
const PEM_END = /-----END [A-Z0-9 ]*PRIVATE KEY-----[^\n]*\n?/;
const PEM_BEGIN = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

/**
 * Keeps the last `maxBytes` of a run's combined output. Writes only append raw bytes (cheap, so streaming a large
 * output costs nothing extra); redaction happens once, over the kept window, when the tail is read. Where the window
 * starts mid-output, its first partial line is dropped, so a secret cut in half is never half shown, and a private key
 * whose BEGIN line fell off the window is dropped up to its END line. Memory stays bounded by a few times maxBytes.
 */
export class LogTail {
  readonly #maxBytes: number;
  readonly #window: number;
  #chunks: Buffer[] = [];
  #held = 0;
  #totalBytes = 0;
  #cut = false;
  #closed = false;

  constructor(options: { maxBytes?: number } = {}) {
    this.#maxBytes = Math.max(0, Math.floor(options.maxBytes ?? DEFAULT_LOG_TAIL_BYTES));
    this.#window = this.#maxBytes + MARGIN_BYTES;
  }

  /** Adds output (stdout and stderr interleaved as they arrive). */
  write(chunk: Buffer | string): void {
    if (this.#closed) return;
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.#totalBytes += bytes.length;
    if (this.#maxBytes === 0 || bytes.length === 0) return;
    this.#chunks.push(bytes);
    this.#held += bytes.length;
    while (this.#chunks.length > 1 && this.#held - this.#chunks[0]!.length >= this.#window) {
      this.#held -= this.#chunks.shift()!.length;
      this.#cut = true;
    }
    if (this.#held > 4 * this.#window) {
      const joined = Buffer.concat(this.#chunks);
      this.#chunks = [joined.subarray(joined.length - this.#window)];
      this.#held = this.#window;
      this.#cut = true;
    }
  }

  /** Marks the output complete (the last line counts even without a newline); later writes are ignored. */
  close(): void {
    this.#closed = true;
  }

  /** The redacted tail so far (without a still-incomplete last line unless closed). */
  snapshot(): StoredLogTail {
    if (this.#maxBytes === 0) return { text: '', totalBytes: this.#totalBytes, truncated: this.#totalBytes > 0 };
    let buf = Buffer.concat(this.#chunks);
    let cut = this.#cut;
    if (buf.length > this.#window) {
      buf = buf.subarray(buf.length - this.#window);
      cut = true;
    }
    if (!this.#closed) {
      const lastNewline = buf.lastIndexOf(10);
      buf = buf.subarray(0, lastNewline + 1);
    }
    let text = buf.subarray(skipContinuation(buf, 0)).toString('utf8');
    if (cut) text = dropCutEdge(text);
    text = redact(text);
    const out = Buffer.from(text);
    if (out.length <= this.#maxBytes) return { text, totalBytes: this.#totalBytes, truncated: cut };
    return { text: out.subarray(skipContinuation(out, out.length - this.#maxBytes)).toString('utf8'), totalBytes: this.#totalBytes, truncated: true };
  }

  /** Closes and returns the final tail. */
  finish(): StoredLogTail {
    this.close();
    return this.snapshot();
  }
}

/** Moves a byte offset past UTF-8 continuation bytes, so text never starts mid-character. */
function skipContinuation(buf: Buffer, start: number): number {
  let i = start;
  while (i < buf.length && i < start + 4 && (buf[i]! & 0xc0) === 0x80) i++;
  return i;
}

/** Drops what the cut may have split: the first partial line, and a private key whose BEGIN line was cut off. */
function dropCutEdge(text: string): string {
  const newline = text.indexOf('\n');
  let rest = newline >= 0 ? text.slice(newline + 1) : text.slice(Math.min(text.length, Math.max(256, longestSecretLength())));
  const end = PEM_END.exec(rest);
  if (end && !PEM_BEGIN.test(rest.slice(0, end.index))) rest = rest.slice(end.index + end[0].length);
  return rest;
}
