/**
 * Time as a dependency. Everything that reads the time, waits or schedules takes a Clock, so tests move time
 * instead of sleeping. This module is the only place in src/ that touches the runtime's timers and `Date.now()`
 * (a test enforces it); it imports nothing from Node, so the same clock serves Node and Workers.
 */

/** A scheduled callback; `cancel` is idempotent. */
export interface TimerHandle {
  cancel(): void;
}

export interface TimerOptions {
  /** Node only: the timer does not keep the process alive (heartbeats, tickers, background sweeps). */
  unref?: boolean | undefined;
}

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason (an AbortError by default) once `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Runs `fn` once after `ms`. */
  setTimeout(fn: () => void, ms: number, options?: TimerOptions): TimerHandle;
  /** Runs `fn` every `ms` until cancelled. */
  setInterval(fn: () => void, ms: number, options?: TimerOptions): TimerHandle;
}

/** The error a sleep rejects with when its signal aborts without a reason of its own. */
export function abortError(signal?: AbortSignal): unknown {
  if (signal?.reason !== undefined) return signal.reason;
  const error = new Error('The operation was aborted');
  error.name = 'AbortError';
  return error;
}

type RuntimeTimer = ReturnType<typeof globalThis.setTimeout> & { unref?: () => unknown };

function unrefIf(timer: RuntimeTimer, options: TimerOptions | undefined): RuntimeTimer {
  if (options?.unref) timer.unref?.();
  return timer;
}

/**
 * The dashboard page's clock, as the source of a browser-side object (`after(ms, fn)`, `every(ms, fn)`) that the
 * dashboard script (src/dashboard/assets/client.ts) embeds: the page's own timers, kept here beside the system clock so
 * that one module owns every timer. A browser test replaces them with Playwright's `page.clock` and advances it.
 */
export const BROWSER_CLOCK_SOURCE = `{
    after: function (ms, fn) { window.setTimeout(fn, ms); },
    every: function (ms, fn) { window.setInterval(fn, ms); }
  }`;

/** Real time: the runtime's clock and timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms, signal) {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      const onAbort = (): void => {
        globalThis.clearTimeout(timer);
        reject(abortError(signal));
      };
      const timer = globalThis.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, Math.max(0, ms));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
  setTimeout(fn, ms, options) {
    const timer = unrefIf(globalThis.setTimeout(fn, Math.max(0, ms)) as RuntimeTimer, options);
    return { cancel: () => globalThis.clearTimeout(timer) };
  },
  setInterval(fn, ms, options) {
    const timer = unrefIf(globalThis.setInterval(fn, Math.max(1, ms)) as RuntimeTimer, options);
    return { cancel: () => globalThis.clearInterval(timer) };
  },
};

/**
 * When this process started, on `clock`'s time line: the runtime counts from its own start (before any module
 * loads), so a figure taken from here covers what the user waited for.
 */
export function processStartedAt(clock: Clock): number {
  return clock.now() - globalThis.performance.now();
}

/** A clock shifted by a fixed offset (the CLI's `CRABBOX_CLOCK_OFFSET`, for trying expiry by hand); timers stay real. */
export function offsetClock(base: Clock, offsetMs: number): Clock {
  return { ...base, now: () => base.now() + offsetMs };
}

interface ManualTimer {
  id: number;
  due: number;
  fn: () => void;
  /** Set for intervals. */
  every?: number | undefined;
}

/** Lets pending promise continuations run: a few macrotask turns of the real event loop. */
async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => globalThis.setTimeout(resolve, 0));
}

/**
 * A clock that only moves when told to, in the spirit of coder's quartz mock: timers and sleeps wait for
 * `advance`/`tick`, and tests can wait until the code under test has scheduled something.
 */
export class ManualClock implements Clock {
  #now: number;
  #timers: ManualTimer[] = [];
  #nextId = 1;

  constructor(start: number | Date = Date.UTC(2026, 0, 1)) {
    this.#now = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.#now;
  }

  /** Moves time forward and runs every timer that falls due, in order, each at its own due time. */
  advance(ms: number): number {
    const target = this.#now + ms;
    for (let timer = this.#nextDue(target); timer; timer = this.#nextDue(target)) this.#fire(timer);
    this.#now = Math.max(this.#now, target);
    return this.#now;
  }

  /**
   * Like `advance`, but lets the code woken by each timer run (and schedule more) before moving on: use it when a
   * timer's callback or a sleep's continuation is async.
   */
  async tick(ms: number): Promise<number> {
    const target = this.#now + ms;
    await settle();
    for (let timer = this.#nextDue(target); timer; timer = this.#nextDue(target)) {
      this.#fire(timer);
      await settle();
    }
    this.#now = Math.max(this.#now, target);
    await settle();
    return this.#now;
  }

  /** Jumps to an absolute time (a clock jump): timers due by then fire; the clock may also move backwards. */
  set(ms: number): void {
    if (ms >= this.#now) this.advance(ms - this.#now);
    else this.#now = ms;
  }

  /** How many timers and sleeps are waiting. */
  get pending(): number {
    return this.#timers.length;
  }

  /** When the next timer falls due, if any. */
  nextDueAt(): number | undefined {
    return this.#timers.reduce<number | undefined>((min, t) => (min === undefined || t.due < min ? t.due : min), undefined);
  }

  /** Resolves once at least `count` timers are pending (the code under test reached its wait); fails after `maxTurns`. */
  async waitForTimers(count = 1, maxTurns = 2000): Promise<void> {
    for (let turn = 0; this.#timers.length < count; turn++) {
      if (turn >= maxTurns) throw new Error(`ManualClock: expected ${count} pending timer(s), have ${this.#timers.length}`);
      await settle(1);
    }
  }

  /**
   * Lets time fly: whenever something waits on this clock, jump straight to its due time. For tests that care about
   * what happens across waits (retries, polls) but not about the waiting. Returns the function that stops it.
   */
  autoAdvance(): () => void {
    let running = true;
    const loop = async (): Promise<void> => {
      while (running) {
        const due = this.nextDueAt();
        if (due !== undefined) this.advance(Math.max(0, due - this.#now));
        await settle(1);
      }
    };
    void loop();
    return () => void (running = false);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      const onAbort = (): void => {
        handle.cancel();
        reject(abortError(signal));
      };
      const handle = this.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.#add({ id: this.#nextId++, due: this.#now + Math.max(0, ms), fn });
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    const every = Math.max(1, ms);
    return this.#add({ id: this.#nextId++, due: this.#now + every, fn, every });
  }

  #add(timer: ManualTimer): TimerHandle {
    this.#timers.push(timer);
    return { cancel: () => void (this.#timers = this.#timers.filter((t) => t.id !== timer.id)) };
  }

  #nextDue(target: number): ManualTimer | undefined {
    let next: ManualTimer | undefined;
    for (const t of this.#timers) if (t.due <= target && (!next || t.due < next.due || (t.due === next.due && t.id < next.id))) next = t;
    return next;
  }

  #fire(timer: ManualTimer): void {
    this.#now = Math.max(this.#now, timer.due);
    if (timer.every !== undefined) timer.due += timer.every;
    else this.#timers = this.#timers.filter((t) => t.id !== timer.id);
    timer.fn();
  }
}
