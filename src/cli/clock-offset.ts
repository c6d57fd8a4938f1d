import { offsetClock as shifted, systemClock, type Clock } from '../domain/clock.ts';
import { parseDuration } from '../domain/duration.ts';

/**
 * Test and debug aid: CRABBOX_CLOCK_OFFSET=2h makes the CLI believe it is two hours later, so expiry and cleanup
 * can be exercised across real processes without sleeping. Unset (the normal case), the system clock is used.
 */
export function offsetClock(env: NodeJS.ProcessEnv): { clock?: Clock } {
  const raw = env.CRABBOX_CLOCK_OFFSET;
  if (!raw) return {};
  let ms: number;
  try {
    ms = parseDuration(raw, 'CRABBOX_CLOCK_OFFSET') * 1000;
  } catch {
    process.stderr.write(`crabbox: ignoring CRABBOX_CLOCK_OFFSET=${JSON.stringify(raw.slice(0, 40))}: expected a duration such as 2h\n`);
    return {};
  }
  return { clock: shifted(systemClock, ms) };
}
