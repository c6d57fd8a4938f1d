import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The remote wrapper's protocol version; the first request field. */
export const PROTOCOL = 'crabbox-run/4';
const MESSAGE_PREFIX = Buffer.from('\0crabbox:', 'latin1');
/** Bytes at the end of the stream that may hold the exit trailer (`\0crabbox:exit 255\n` is 18). */
const TRAILER_WINDOW = 24;

/** The box-side scripts (src/sync/remote/). */
export type RemoteScript = 'crabbox-run.sh' | 'crabbox-files.sh' | 'crabbox-fetch.sh';

const scripts = new Map<string, Buffer>();

/** A remote script's bytes (`src/sync/remote/<name>`), found beside this module or under the package root. */
export function remoteScript(name: RemoteScript): Buffer {
  const cached = scripts.get(name);
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    for (const candidate of [join(dir, 'remote', name), join(dir, 'src', 'sync', 'remote', name)]) {
      if (existsSync(candidate)) {
        const bytes = readFileSync(candidate);
        scripts.set(name, bytes);
        return bytes;
      }
    }
    dir = dirname(dir);
  }
  throw new Error(`${name} not found beside the crabbox installation`);
}

/** What precedes the request on stdin: the script's length, a newline, the script (read by BOOTSTRAP). */
export function scriptPayload(name: RemoteScript): Buffer {
  const script = remoteScript(name);
  return Buffer.concat([Buffer.from(`${script.length}\n`), script]);
}

/**
 * What the remote login shell runs: read the script's length and bytes from stdin, then evaluate it, so the
 * script, the request and the env values all travel on stdin and the remote argv stays constant.
 */
export const BOOTSTRAP = `exec bash -c 'IFS= read -r n || exit 70; s=$(head -c "$n") || exit 70; eval "$s"'`;

export interface WrapperRequest {
  workdir: string;
  metadir: string;
  /** False with `--no-sync`; true: the sync offer (encodeOffer) follows the request. */
  sync: boolean;
  lockWaitSeconds: number;
  mode: 'argv' | 'shell';
  /** `crabbox run -t`: the command runs on a terminal of this size on the box. */
  pty?: { columns: number; rows: number; keys?: boolean | undefined } | undefined;
  args: string[];
}

/** A terminal dimension as the wrapper takes it (1 to 9999). */
export function clampSize(n: number): number {
  return Math.min(9999, Math.max(1, Math.floor(n) || 1));
}

/** One NUL-terminated request field. */
export function field(value: string | number): Buffer {
  const text = String(value);
  if (text.includes('\0')) throw new Error('a request field cannot hold a NUL byte');
  return Buffer.from(`${text}\0`, 'utf8');
}

/**
 * The bytes the CLI writes to the wrapper's stdin first: bootstrap payload, then the request fields. The env block
 * (encodeEnvBlock) follows once the run's id is known; the wrapper reads it after checking its files (with sync).
 */
export function encodeRequest(request: WrapperRequest): Buffer {
  return Buffer.concat([
    scriptPayload('crabbox-run.sh'),
    ...[PROTOCOL, request.workdir, request.metadir, request.sync ? 1 : 0, Math.floor(request.lockWaitSeconds), request.mode,
      request.pty ? `${clampSize(request.pty.columns)} ${clampSize(request.pty.rows)}${request.pty.keys ? ' keys' : ''}` : '', request.args.length].map(field),
    ...request.args.map(field),
  ]);
}

/** A length-prefixed NUL list (the manifest) as the wrapper reads it. */
export function encodeBlob(blob: Buffer): Buffer {
  return Buffer.concat([field(blob.length), blob]);
}

/** The git part of an offer (src/sync/git-meta.ts): HEAD, or an empty field when the box gets no git metadata. */
export interface GitOffer {
  /** The HEAD commit the box should have. */
  head: string;
  /** `refs/heads/<branch>`, or empty when HEAD is detached. */
  ref: string;
  /** Shallow boundary commits to add on the box (NUL list); empty when nothing changed. */
  shallow: Buffer;
  /** `git ls-files -s -z` (the index entries as `update-index --index-info` reads them); empty when unchanged. */
  index: Buffer;
  /** A pack of the objects the box lacks; empty when HEAD is unchanged. */
  pack: Buffer;
  /** `update <ref> <oid>` lines for `git update-ref --stdin`: the branch and the tags within the shipped history. */
  refs: Buffer;
}

/**
 * The sync offer, sent after the request once the CLI knows it: the tree it wants and the change from `base`, then
 * the git metadata (HEAD, its ref, shallow boundaries, index entries and a pack; empty parts when the box has them).
 */
export function encodeOffer(offer: { fingerprint: string; base: string; deleteLimit: number; send: Buffer; remove: Buffer; git?: GitOffer | undefined }): Buffer {
  const git = offer.git
    ? [field(offer.git.head), field(offer.git.ref), encodeBlob(offer.git.shallow), encodeBlob(offer.git.index), encodeBlob(offer.git.pack), encodeBlob(offer.git.refs)]
    : [field('')];
  return Buffer.concat([field(offer.fingerprint), field(offer.base), field(offer.deleteLimit), encodeBlob(offer.send), encodeBlob(offer.remove), ...git]);
}

/** Messages followed by a payload of `<length>` bytes: a sample of paths a deletion would remove, paths to send again. */
const PAYLOAD_WORDS = new Set(['sample', 'extra']);

export type WrapperMessage = { word: string; args: string[]; payload?: Buffer };

/**
 * Splits the wrapper's stdout into control messages (before the command starts), the command's own bytes, and the
 * final `exit <code>` message. The trailer is only honoured at the very end of the stream, so a command that prints
 * the same bytes mid-stream cannot fake its exit code.
 */
export class WrapperOutput {
  #mode: 'control' | 'payload' | 'stream' = 'control';
  #buffer: Buffer = Buffer.alloc(0);
  #payloadFor: WrapperMessage | undefined;
  #payloadLeft = 0;
  readonly #onMessage: (message: WrapperMessage) => void;
  readonly #onData: (data: Buffer) => void;
  readonly #onNoise: (data: Buffer) => void;

  constructor(options: { onMessage: (message: WrapperMessage) => void; onData: (data: Buffer) => void; onNoise: (data: Buffer) => void }) {
    this.#onMessage = options.onMessage;
    this.#onData = options.onData;
    this.#onNoise = options.onNoise;
  }

  push(chunk: Buffer): void {
    if (this.#mode === 'stream' && this.#buffer.length > 0 && chunk.length >= TRAILER_WINDOW) {
      // What was held back is followed by at least a window of bytes, so it cannot be the trailer: pass it on
      // as it is instead of copying it and the chunk into one buffer.
      this.#onData(this.#buffer);
      this.#buffer = chunk;
    } else {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    }
    this.#drain();
  }

  /** Call at end of stream; returns the command's exit code when the trailer arrived. */
  end(): number | undefined {
    if (this.#mode !== 'stream') return undefined;
    const m = /^\0crabbox:exit (\d{1,3})\n$/.exec(this.#buffer.toString('latin1'));
    if (m) return Number(m[1]);
    if (this.#buffer.length > 0) this.#onData(this.#buffer);
    this.#buffer = Buffer.alloc(0);
    return undefined;
  }

  #drain(): void {
    for (;;) {
      if (this.#mode === 'stream') return this.#drainStream();
      if (this.#mode === 'payload') {
        const take = Math.min(this.#payloadLeft, this.#buffer.length);
        const part = this.#buffer.subarray(0, take);
        this.#payloadFor!.payload = Buffer.concat([this.#payloadFor!.payload ?? Buffer.alloc(0), part]);
        this.#payloadLeft -= take;
        this.#buffer = this.#buffer.subarray(take);
        if (this.#payloadLeft > 0) return;
        this.#mode = 'control';
        this.#onMessage(this.#payloadFor!);
        continue;
      }
      const start = this.#buffer.indexOf(MESSAGE_PREFIX);
      if (start < 0) {
        // Keep a possible partial prefix; anything else is shell noise (a chatty .bashrc) and goes to stderr.
        const keep = Math.min(this.#buffer.length, MESSAGE_PREFIX.length - 1);
        const noise = this.#buffer.subarray(0, this.#buffer.length - keep);
        if (noise.length > 0) this.#onNoise(noise);
        this.#buffer = this.#buffer.subarray(this.#buffer.length - keep);
        return;
      }
      if (start > 0) this.#onNoise(this.#buffer.subarray(0, start));
      const end = this.#buffer.indexOf(0x0a, start);
      if (end < 0) {
        this.#buffer = this.#buffer.subarray(start);
        return;
      }
      const [word = '', ...args] = this.#buffer.subarray(start + MESSAGE_PREFIX.length, end).toString('utf8').split(' ');
      this.#buffer = this.#buffer.subarray(end + 1);
      const message: WrapperMessage = { word, args };
      if (PAYLOAD_WORDS.has(word)) {
        this.#mode = 'payload';
        this.#payloadFor = message;
        this.#payloadLeft = Number(args[0]) || 0;
        continue;
      }
      if (word === 'start') this.#mode = 'stream';
      this.#onMessage(message);
    }
  }

  #drainStream(): void {
    // Hold back the last few bytes from a NUL on: they may be the start of the exit trailer (at most 19 bytes).
    // Only the last window is searched, so streaming output costs no scan over every byte.
    const from = Math.max(0, this.#buffer.length - TRAILER_WINDOW);
    const nul = this.#buffer.subarray(from).lastIndexOf(0);
    const cut = nul >= 0 ? from + nul : this.#buffer.length;
    if (cut > 0) this.#onData(this.#buffer.subarray(0, cut));
    this.#buffer = this.#buffer.subarray(cut);
  }
}
