import type { Socket } from 'node:net';

/**
 * The warm runner's wire format over its Unix socket: frames of one type byte, a 4-byte big-endian length and the
 * payload. A run is at most once: the client sends `q` (the request, JSON); the runner answers `n` (refused, JSON with
 * the reason; nothing ran, the client runs the command itself) or `a` (accepted); only then does the client commit
 * with `g`, and the runner starts the command. After that: `s` (a signal name) from the client; `o` and `e` (the
 * command's stdout and stderr bytes) and finally `x` (the exit code, JSON) from the runner.
 */
export type FrameType = 'q' | 'g' | 's' | 'n' | 'a' | 'o' | 'e' | 'x';

const HEADER = 5;
/** A request carries argv and the environment; nothing legitimate comes near this. */
export const MAX_FRAME = 4 * 1024 * 1024;

/** Calls `handle` with each frame (or output piece) read from `socket`; a peer that breaks the format is dropped. */
export function onFrames(socket: Socket, handle: (piece: FramePiece) => void): void {
  const reader = new FrameReader();
  socket.on('data', (chunk: Buffer) => {
    let pieces: FramePiece[];
    try {
      pieces = reader.push(chunk);
    } catch {
      socket.destroy();
      return;
    }
    for (const piece of pieces) handle(piece);
  });
}

/** A frame's header: its type and payload length. */
export function frameHeader(type: FrameType, length: number): Buffer {
  const head = Buffer.allocUnsafe(HEADER);
  head.write(type, 0, 'latin1');
  head.writeUInt32BE(length, 1);
  return head;
}

export function frame(type: FrameType, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat([frameHeader(type, body.length), body]);
}

/** Output frames: their payload is passed on in pieces as it arrives, never gathered (no copy of the output). */
const STREAMED: ReadonlySet<string> = new Set(['o', 'e']);

export interface FramePiece {
  type: FrameType;
  payload: Buffer;
}

/**
 * Splits a byte stream into frames; throws on an unknown type or an oversized frame (the peer is then dropped).
 * `o` and `e` payloads come out in pieces, as slices of the chunks read; other frames come out whole.
 */
export class FrameReader {
  #head: Buffer = Buffer.alloc(0);
  #type: FrameType | undefined;
  #left = 0;
  #parts: Buffer[] = [];

  push(chunk: Buffer): FramePiece[] {
    const out: FramePiece[] = [];
    let at = 0;
    while (at < chunk.length || (this.#type !== undefined && this.#left === 0)) {
      if (this.#type === undefined) {
        const need = HEADER - this.#head.length;
        const take = chunk.subarray(at, at + need);
        at += take.length;
        this.#head = this.#head.length === 0 ? take : Buffer.concat([this.#head, take]);
        if (this.#head.length < HEADER) break;
        const type = String.fromCharCode(this.#head[0]!);
        if (!'qgsnaoex'.includes(type)) throw new Error(`unknown frame type ${JSON.stringify(type)}`);
        const length = this.#head.readUInt32BE(1);
        if (length > MAX_FRAME) throw new Error(`frame of ${length} bytes is over the limit`);
        this.#type = type as FrameType;
        this.#left = length;
        this.#head = Buffer.alloc(0);
      }
      const type = this.#type;
      const piece = chunk.subarray(at, at + this.#left);
      at += piece.length;
      this.#left -= piece.length;
      if (STREAMED.has(type)) {
        if (piece.length > 0) out.push({ type, payload: piece });
      } else {
        this.#parts.push(piece);
      }
      if (this.#left > 0) break;
      if (!STREAMED.has(type)) out.push({ type, payload: this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts) });
      this.#parts = [];
      this.#type = undefined;
    }
    return out;
  }
}
