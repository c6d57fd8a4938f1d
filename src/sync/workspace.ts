import { createHash } from 'node:crypto';
import { basename, posix } from 'node:path';
import { safeDirName } from './paths.ts';

export interface Workspace {
  /** Where the checkout lands on the box. */
  workdir: string;
  /** Crabbox's bookkeeping for that workdir (manifest, fingerprint, lock), outside the synced tree. */
  metadir: string;
}

/**
 * The remote paths for a checkout on a lease: `<workRoot>/<lease>/<repo>-<key>` and
 * `<workRoot>/<lease>/.crabbox/<repo>-<key>`, where the key is the start of a hash of the checkout's path on this
 * machine: two checkouts with the same folder name get their own workspaces (and locks) on one lease.
 */
export function workspaceFor(options: { workRoot: string; leaseId: string; repoRoot: string }): Workspace {
  const key = createHash('sha256').update(options.repoRoot).digest('hex').slice(0, 8);
  const repo = `${safeDirName(basename(options.repoRoot))}-${key}`;
  const lease = safeDirName(options.leaseId);
  const root = posix.join(options.workRoot, lease);
  return { workdir: posix.join(root, repo), metadir: posix.join(root, '.crabbox', repo) };
}
