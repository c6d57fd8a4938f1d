import { mkdir } from 'node:fs/promises';
import { writeFileAtomic } from '../fs/atomic-write.ts';
import { join } from 'node:path';
import type { CleanupOptions, CleanupReport } from './cleanup.ts';
import { cleanupExpired } from './cleanup.ts';
import { plural } from '../domain/plural.ts';
import { readSmall } from '../fs/small-read.ts';

/** At most one opportunistic sweep per this interval (per user state dir). */
export const SWEEP_INTERVAL_MS = 60_000;

/**
 * The cheap sweep every direct-mode command runs: cleanup of expired machines, rate-limited by a stamp file
 * holding the time of the last sweep. Never fails the command; returns undefined when it did not run.
 */
export async function sweepIfDue(options: Omit<CleanupOptions, 'dryRun'> & { report?: ((line: string) => void) | undefined }): Promise<CleanupReport | undefined> {
  if (options.coordinator) return undefined;
  const stamp = join(options.stateDir, 'sweep.stamp');
  const now = options.clock.now();
  const last = Number((readSmall(stamp) ?? '').trim());
  if (Number.isFinite(last) && last > 0 && now - last < SWEEP_INTERVAL_MS && now >= last) return undefined;
  try {
    await mkdir(options.stateDir, { recursive: true, mode: 0o700 });
    writeFileAtomic(stamp, `${now}\n`);
    const report = await cleanupExpired(options);
    // What the sweep removed is the user's to know (a crashed session's box, a forgotten lease), not only a debug line.
    const tell = options.report ?? options.log;
    if (report.deleted.length > 0) tell?.(`removed ${plural(report.deleted.length, 'expired or abandoned lease')}: ${report.deleted.map((d) => `${d.id} (${d.reason})`).join(', ')}`);
    if (report.failed.length > 0) tell?.(`could not remove ${report.failed.map((d) => d.id).join(', ')}; the next command retries`);
    return report;
  } catch (error) {
    options.log?.(`sweep failed: ${(error as Error).message}`);
    return undefined;
  }
}
