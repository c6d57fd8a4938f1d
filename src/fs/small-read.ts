/**
 * Reads a small state file of crabbox's own (a lease's index entry, a pid file, a stamp) synchronously. On the CLI's
 * way to the box, an asynchronous read is several thread-pool round trips (open, stat, read, close), each waiting for
 * the event loop while modules load and processes start; reading a few hundred bytes at once takes microseconds.
 */
import { readFileSync } from 'node:fs';

/** The file's text; undefined when it cannot be read. */
export function readSmall(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The file's text; throws as readFileSync does (ENOENT and the like) for callers that tell the cases apart. */
export function readSmallOrThrow(path: string): string {
  return readFileSync(path, 'utf8');
}
