/**
 * Reads a small state file of crabbox's own (a lease's index entry, a pid file, a stamp) synchronously. On the CLI's
 * way to the box, an asynchronous read is several thread-pool round trips (open, stat, read, close), each waiting for
 * the event loop while modules load and processes start; reading a few hundred bytes at once takes microseconds.
 */
import { readFileSync } from 'node:fs';

/** The file's text; undefined when it cannot be read (missing, unreadable: callers treat all of these as absent). */
export function readSmall(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

