/**
 * Seeded chaos for the cloud fakes (Hetzner, EC2): the same seed gives the same faults in the same order, so a
 * failure found under chaos is reproduced by running with that seed again.
 */

/** mulberry32: a small, well-mixed 32-bit PRNG; plenty for choosing faults. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ChaosOptions {
  seed: number;
  /** Probability that a request gets a fault injected (default 0.15). */
  rate?: number | undefined;
  /**
   * At most this many faults in a row per request kind (default 2), so a client that retries within its documented
   * budget always gets through: chaos tests recovery, not give-up paths.
   */
  maxConsecutive?: number | undefined;
}

/** The fault decisions a fake makes under chaos. Every decision goes through `roll`, so it is reproducible. */
export class Chaos {
  readonly seed: number;
  readonly rate: number;
  readonly maxConsecutive: number;
  readonly #random: () => number;
  readonly #streak = new Map<string, number>();
  /** Every injected fault, for the test's report when something leaks. */
  readonly log: string[] = [];

  constructor(options: ChaosOptions) {
    this.seed = options.seed;
    this.rate = options.rate ?? 0.15;
    this.maxConsecutive = options.maxConsecutive ?? 2;
    this.#random = seededRandom(options.seed);
  }

  /** A number in [0, 1). */
  roll(): number {
    return this.#random();
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.roll() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.roll() * items.length)]!;
  }

  /**
   * Whether to inject a fault into a request of this kind now: at `rate`, but never more than `maxConsecutive` times
   * in a row for the same kind. A request that gets no fault resets the streak.
   */
  strike(kind: string, rate = this.rate): boolean {
    const streak = this.#streak.get(kind) ?? 0;
    const hit = streak < this.maxConsecutive && this.roll() < rate;
    this.#streak.set(kind, hit ? streak + 1 : 0);
    return hit;
  }

  note(what: string): void {
    this.log.push(what);
  }
}

/**
 * The chaos seeds a test suite runs under. `CRABBOX_FAKE_CHAOS_SEED` (read only by test harnesses, never by Crabbox
 * itself) replays one seed; otherwise a fixed budget of seeds runs, the same on every machine and in CI.
 */
export function chaosSeeds(env: NodeJS.ProcessEnv, budget: readonly number[] = [1, 2, 3]): number[] {
  const raw = env.CRABBOX_FAKE_CHAOS_SEED?.trim();
  if (!raw) return [...budget];
  if (!/^\d{1,10}$/.test(raw)) throw new Error(`CRABBOX_FAKE_CHAOS_SEED must be a non-negative integer, got ${JSON.stringify(raw.slice(0, 20))}`);
  return [Number(raw)];
}

/** A token bucket on a clock: `size` requests at once, refilled at `perSecond`. Both fakes meter requests with it. */
export class TokenBucket {
  readonly size: number;
  readonly perSecond: number;
  #tokens: number;
  #at: number;

  constructor(size: number, perSecond: number, now: number) {
    this.size = size;
    this.perSecond = perSecond;
    this.#tokens = size;
    this.#at = now;
  }

  #refill(now: number): void {
    if (now > this.#at) this.#tokens = Math.min(this.size, this.#tokens + ((now - this.#at) / 1000) * this.perSecond);
    this.#at = Math.max(this.#at, now);
  }

  /** Takes one token; false when the bucket is empty. */
  take(now: number): boolean {
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Whole tokens left. */
  remaining(now: number): number {
    this.#refill(now);
    return Math.floor(this.#tokens);
  }

  /** When the bucket will be full again (epoch ms). */
  fullAt(now: number): number {
    this.#refill(now);
    return now + Math.ceil(((this.size - this.#tokens) / this.perSecond) * 1000);
  }
}
