import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Waits for another process (a CLI, a coordinator, sshd, a terminal) to get somewhere: polls `check` on the real
 * clock until it returns something other than undefined, null or false, and returns that. Bounded: after `ms` it
 * fails with one line naming what never happened. Tests of Crabbox's own timing advance an injected clock instead.
 */
export async function until<T>(check: () => T | undefined | null | false | Promise<T | undefined | null | false>, what: string, ms = 60_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}
