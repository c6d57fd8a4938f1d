import { Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { systemClock, type Clock, type TimerHandle } from '../domain/clock.ts';
import { REDACTED, longestSecretLength, redact } from './redact.ts';

/**
 * Redaction for output that arrives in chunks. A secret can be split across two chunks, so text is redacted a whole
 * line at a time: the incomplete last line is held back (bounded by `maxHoldChars`) until its `\n` or `\r` arrives,
 * or, in the stream form, partly released when output goes quiet.
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
  /** The incomplete current line. */
  #pending = '';
  /** What an idle release already emitted of the current line (redacted). */
  #emitted = '';
  #inPem = false;

  constructor(options: StreamRedactorOptions = {}) {
    this.#maxHold = Math.max(256, options.maxHoldChars ?? DEFAULT_HOLD);
  }

  /** Adds a chunk; returns the redacted text that can be emitted. A line ends at `\n` or `\r` (progress output). */
  push(chunk: string): string {
    const text = this.#pending + chunk;
    let out = '';
    let start = 0;
    const boundary = /[\r\n]/g;
    for (let m = boundary.exec(text); m; m = boundary.exec(text)) {
      out += this.#line(text.slice(start, m.index + 1));
      start = m.index + 1;
    }
    this.#pending = text.slice(start);
    if (this.#pending.length > this.#maxHold) out += this.#releaseLongLine();
    return out;
  }

  /** True while an incomplete line is held back. */
  get holding(): boolean {
    return this.#pending !== '';
  }

  /**
   * Shows part of a held incomplete line when the stream has gone quiet (a prompt, a progress bar), so output does
   * not stall. The last two words stay hidden (a `name:` or `Bearer` head may still be waiting for its value), and
   * so do at least as many characters as the longest registered secret. The line stays held: when it completes it
   * is redacted whole, and only what was not shown yet is emitted.
   */
  releaseIdle(): string {
    if (this.#inPem || this.#pending === '') return '';
    const limit = Math.min(/\S*\s*\S*$/.exec(this.#pending)!.index, this.#pending.length - longestSecretLength());
    // Cut only just after whitespace: a value or a secret ends at whitespace, never inside a word.
    const cut = limit <= 0 ? 0 : this.#pending.slice(0, limit).search(/\s\S*$/) + 1;
    if (cut <= 0) return '';
    const shown = redact(this.#pending.slice(0, cut));
    if (!shown.startsWith(this.#emitted)) return '';
    const out = shown.slice(this.#emitted.length);
    this.#emitted = shown;
    return out;
  }

  /** Flushes whatever is held back (end of stream). */
  end(): string {
    const rest = this.#pending;
    this.#pending = '';
    return rest ? this.#line(rest) : '';
  }

  /**
   * Emits the redaction of (the start of) the current line minus what an idle release already showed. Text that
   * differs from what was shown is emitted from the first difference: every part of a redacted text is safe.
   */
  #continue(redacted: string, lineDone: boolean): string {
    const shown = this.#emitted;
    if (!lineDone && shown.startsWith(redacted)) {
      this.#emitted = shown.slice(redacted.length);
      return '';
    }
    this.#emitted = '';
    let i = 0;
    while (i < shown.length && i < redacted.length && shown[i] === redacted[i]) i++;
    return redacted.slice(i);
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
      return this.#continue(`${redact(line.slice(0, begin.index))}${REDACTED}`, true);
    }
    return this.#continue(redact(line), true);
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
    return this.#continue(redact(released), false);
  }
}


export interface RedactStreamOptions extends StreamRedactorOptions {
  /** After this long without input, part of a held incomplete line is released (see releaseIdle). Default 150 ms; 0 turns it off. */
  idleFlushMs?: number;
  /** Schedules the idle release; tests pass a ManualClock. */
  clock?: Pick<Clock, 'setTimeout'>;
}

/** A Transform stream that decodes UTF-8 (never splitting a character) and emits redacted text. */
export function createRedactStream(options: RedactStreamOptions = {}): Transform {
  const redactor = new StreamRedactor(options);
  const decoder = new StringDecoder('utf8');
  const idleMs = options.idleFlushMs ?? 150;
  const clock = options.clock ?? systemClock;
  let timer: TimerHandle | undefined;
  const cancel = (): void => {
    timer?.cancel();
    timer = undefined;
  };
  const stream = new Transform({
    transform(chunk: Buffer | string, _encoding: BufferEncoding, callback: TransformCallback) {
      cancel();
      const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
      const out = redactor.push(text);
      if (idleMs > 0 && redactor.holding) {
        timer = clock.setTimeout(() => {
          timer = undefined;
          const released = redactor.releaseIdle();
          if (released !== '') stream.push(released);
        }, idleMs, { unref: true });
      }
      callback(null, out === '' ? undefined : out);
    },
    flush(callback: TransformCallback) {
      cancel();
      const out = redactor.push(decoder.end()) + redactor.end();
      callback(null, out === '' ? undefined : out);
    },
    destroy(error, callback) {
      cancel();
      callback(error);
    },
  });
  return stream;
}
