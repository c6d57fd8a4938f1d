import { Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { REDACTED, longestSecretLength, redact } from './redact.ts';

/**
 * Redaction for output that arrives in chunks. A secret can be split across two chunks, so text is redacted a whole
 * line at a time: the incomplete last line is held back (bounded by `maxHoldChars`) until its newline arrives.
 * A PEM private key block spans lines; while inside one, lines are dropped until its END marker.
 */
export interface StreamRedactorOptions {
  /** The longest incomplete line held back before part of it is released (default 16 KiB). */
  maxHoldChars?: number;
}

const BEGIN_PEM = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
const END_PEM = /-----END [A-Z0-9 ]*PRIVATE KEY-----/;
const DEFAULT_HOLD = 16 * 1024;

/** Incremental redactor over text: push chunks, get back redacted text that is safe to emit now. */
export class StreamRedactor {
  readonly #maxHold: number;
  #pending = '';
  #inPem = false;

  constructor(options: StreamRedactorOptions = {}) {
    this.#maxHold = Math.max(256, options.maxHoldChars ?? DEFAULT_HOLD);
  }

  /** Adds a chunk; returns the redacted text that can be emitted. */
  push(chunk: string): string {
    this.#pending += chunk;
    let out = '';
    let nl: number;
    while ((nl = this.#pending.indexOf('\n')) !== -1) {
      out += this.#line(this.#pending.slice(0, nl + 1));
      this.#pending = this.#pending.slice(nl + 1);
    }
    if (this.#pending.length > this.#maxHold) out += this.#releaseLongLine();
    return out;
  }

  /** Flushes whatever is held back (end of stream). */
  end(): string {
    const rest = this.#pending;
    this.#pending = '';
    return rest ? this.#line(rest) : '';
  }

  #line(line: string): string {
    if (this.#inPem) {
      const end = END_PEM.exec(line);
      if (!end) return '';
      this.#inPem = false;
      return redact(line.slice(end.index + end[0].length));
    }
    const begin = BEGIN_PEM.exec(line);
    if (begin && !END_PEM.test(line.slice(begin.index))) {
      this.#inPem = true;
      return `${redact(line.slice(0, begin.index))}${REDACTED}`;
    }
    return redact(line);
  }

  /**
   * A line longer than the hold limit is released in part: up to the last whitespace before the kept tail (values
   * end at whitespace), keeping at least as many characters as the longest known secret so none is cut in two.
   */
  #releaseLongLine(): string {
    if (this.#inPem) {
      this.#pending = this.#pending.slice(-128);
      return '';
    }
    const keep = Math.max(1024, longestSecretLength());
    const limit = this.#pending.length - keep;
    if (limit <= 0) return '';
    const head = this.#pending.slice(0, limit);
    const space = Math.max(head.lastIndexOf(' '), head.lastIndexOf('\t'), head.lastIndexOf('\r'));
    const cut = space > 0 ? space + 1 : limit;
    const released = this.#pending.slice(0, cut);
    this.#pending = this.#pending.slice(cut);
    return redact(released);
  }
}

/** A Transform stream that decodes UTF-8 (never splitting a character) and emits redacted text. */
export function createRedactStream(options: StreamRedactorOptions = {}): Transform {
  const redactor = new StreamRedactor(options);
  const decoder = new StringDecoder('utf8');
  return new Transform({
    transform(chunk: Buffer | string, _encoding: BufferEncoding, callback: TransformCallback) {
      const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
      const out = redactor.push(text);
      callback(null, out === '' ? undefined : out);
    },
    flush(callback: TransformCallback) {
      const out = redactor.push(decoder.end()) + redactor.end();
      callback(null, out === '' ? undefined : out);
    },
  });
}
