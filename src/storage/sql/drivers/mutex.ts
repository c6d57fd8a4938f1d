/** A promise-chain mutex: one synchronous connection, so a batch or a read holds it alone. */
export class Mutex {
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;

  /** Nothing holds the mutex and nothing waits for it: a unit that finishes synchronously may run without queueing. */
  get idle(): boolean {
    return this.#pending === 0;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    this.#pending++;
    const previous = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      return await fn();
    } finally {
      this.#pending--;
      release();
    }
  }
}
