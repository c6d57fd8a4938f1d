import { Writable, type Transform } from 'node:stream';
import type { AppContext, AppEvent } from '../app/context.ts';
import type { Clock } from '../domain/clock.ts';
import { redact } from '../redact/redact.ts';
import { createRedactStream } from '../redact/stream.ts';

/** Sends one progress notification (`notifications/progress`) for the request's progress token. */
export type SendProgress = (progress: number, message: string) => Promise<void>;

/**
 * A tool call's progress: phase lines and warnings as `crabbox: …` messages, and a run's output, redacted a line at a
 * time, as the messages in between. Nothing is sent without a progress token (`send` undefined). Notifications go
 * out in order; `close()` flushes the held-back end of the output and waits until every notification is sent, so
 * they all arrive before the tool's result.
 */
export class ToolProgress {
  readonly #send: SendProgress | undefined;
  #count = 0;
  #chain: Promise<void> = Promise.resolve();
  readonly #streams: Transform[] = [];
  readonly output: AppContext['output'];

  constructor(send: SendProgress | undefined, clock: Clock) {
    this.#send = send;
    this.output = { stdout: this.#stream(clock), stderr: this.#stream(clock) };
  }

  #notify(message: string): void {
    const send = this.#send;
    if (!send || message === '') return;
    const progress = ++this.#count;
    // A client that went away must not fail the run; its result is lost with it anyway.
    this.#chain = this.#chain.then(() => send(progress, message)).catch(() => undefined);
  }

  #stream(clock: Clock): Writable {
    if (!this.#send) return new Writable({ write: (_chunk, _encoding, callback) => callback() });
    const redacting = createRedactStream({ clock });
    redacting.on('data', (text: Buffer | string) => this.#notify(text.toString()));
    this.#streams.push(redacting);
    return redacting;
  }

  /** An application event: a phase line, or the lease a run holds (said once, as a line). */
  event(event: AppEvent): void {
    if (event.type === 'progress') this.#notify(`crabbox: ${redact(event.message)}`);
    else this.#notify(`crabbox: using lease ${event.id} (${event.slug})`);
  }

  warn(line: string): void {
    this.#notify(`crabbox: ${redact(line)}`);
  }

  /** Flushes the output and waits until every notification is out. */
  async close(): Promise<void> {
    await Promise.all(this.#streams.map((s) => new Promise<void>((resolve) => {
      if (s.readableEnded || s.destroyed) return resolve();
      s.once('end', () => resolve());
      s.end();
      s.resume();
    })));
    await this.#chain;
  }
}
